// The voting page (SPEC.md §13.2–§13.4).
import { $, wasm, ready, electionIdFromPath, getText, getJSON, postJSON, api, loadElection,
  errorText, save, copy, bundleCheck, markReady, recheckReceipt } from './common.js';

const id = electionIdFromPath();
let election = null;   // wasm VoterElection
let info = null;       // its JSON view
let ballot = null;     // wasm VoterBallot waiting for Cast or Audit
let busy = false;

function fatal(text) {
  const el = $('fatal');
  el.textContent = text;
  el.hidden = false;
  el.focus();
}

function setBusy(text) {
  busy = Boolean(text);
  $('busy').textContent = text || '';
  for (const b of document.querySelectorAll('button')) b.disabled = busy;
}

function renderContests() {
  const root = $('contests');
  info.contests.forEach((c, ci) => {
    const fs = document.createElement('fieldset');
    fs.id = `contest-${ci}`;
    const legend = document.createElement('legend');
    legend.textContent = c.title;
    fs.appendChild(legend);
    const rules = document.createElement('p');
    rules.className = 'rules';
    rules.id = `rules-${ci}`;
    rules.textContent = c.rules;
    fs.appendChild(rules);
    fs.setAttribute('aria-describedby', `rules-${ci} error-${ci}`);
    const single = c.selection && c.max_selections === 1;
    c.options.forEach((o, oi) => {
      const row = document.createElement('div');
      row.className = 'option';
      const input = document.createElement('input');
      input.id = `c${ci}-o${oi}`;
      input.dataset.contest = ci;
      input.dataset.option = oi;
      if (c.selection) {
        input.type = single ? 'radio' : 'checkbox';
        input.name = `contest-${ci}`;
        input.value = o.id;
      } else {
        input.type = 'number';
        input.min = 0;
        input.max = c.max_per_option;
        input.step = 1;
        input.value = 0;
        input.inputMode = 'numeric';
      }
      const label = document.createElement('label');
      label.htmlFor = input.id;
      label.textContent = c.selection ? o.label : `${o.label} (points, 0 to ${c.max_per_option})`;
      if (c.selection) { row.append(input, label); } else { row.append(label, input); }
      fs.appendChild(row);
    });
    const err = document.createElement('p');
    err.className = 'contest-error';
    err.id = `error-${ci}`;
    err.setAttribute('aria-live', 'polite');
    fs.appendChild(err);
    root.appendChild(fs);
  });
  root.addEventListener('input', discardBallot);
  root.addEventListener('change', discardBallot);
}

// Returns the choices, or null with a sentence per problem shown.
function readChoices() {
  const problems = [];
  const choices = info.contests.map((c, ci) => c.options.map((o, oi) => {
    const input = $(`c${ci}-o${oi}`);
    if (c.selection) return input.checked ? 1 : 0;
    const text = input.value.trim();
    if (text === '') return 0;
    if (!/^\d+$/.test(text)) {
      problems.push({ contest: c.id, message: `In “${c.title}”, the points for “${o.label}” must be a whole number from 0 to ${c.max_per_option}.` });
      return 0;
    }
    return Number(text);
  }));
  if (problems.length === 0) problems.push(...JSON.parse(election.check_choices(JSON.stringify(choices))));
  info.contests.forEach((c, ci) => {
    const mine = problems.filter((p) => p.contest === c.id).map((p) => p.message).join(' ');
    $(`error-${ci}`).textContent = mine;
    $(`contest-${ci}`).classList.toggle('invalid', Boolean(mine));
  });
  const box = $('choice-errors');
  if (problems.length) {
    box.textContent = problems.map((p) => p.message).join(' ');
    box.hidden = false;
    box.focus();
    return null;
  }
  box.hidden = true;
  return choices;
}

function discardBallot() {
  if (ballot) {
    ballot.free();
    ballot = null;
  }
  $('step-decide').hidden = true;
}

function credentialText() {
  return $('credential').value;
}

function encryptFresh(choices) {
  const t0 = performance.now();
  ballot = election.encrypt(credentialText(), JSON.stringify(choices));
  document.body.dataset.encryptMs = String(performance.now() - t0);
  $('short-code').textContent = ballot.short_code();
  $('full-code').textContent = ballot.tracking_code();
  $('step-decide').hidden = false;
}

async function onEncrypt(ev) {
  ev.preventDefault();
  if (busy) return;
  $('credential-error').textContent = '';
  try {
    wasm.credential_public_key(credentialText());
  } catch (e) {
    $('credential-error').textContent = errorText(e);
    $('credential').focus();
    return;
  }
  const choices = readChoices();
  if (!choices) return;
  try {
    encryptFresh(choices);
    $('step-decide').focus();
  } catch (e) {
    fatal(errorText(e));
  }
}

function onAudit() {
  if (!ballot || busy) return;
  const choices = readChoices();
  if (!choices) return;
  try {
    const code = ballot.audit();
    ballot.free();
    ballot = null;
    const report = JSON.parse(election.check_audit_code(code));
    $('audit-result').textContent = `The audit passed: ballot ${report.short_code} holds exactly the choices below. It has been spoiled and will not be cast.`;
    $('audit-result').className = 'ok';
    $('audit-report').textContent = report.text;
    $('audit-code').value = code;
    $('step-audit').hidden = false;
    encryptFresh(choices);
    $('busy').textContent = `A fresh encryption was made: the new tracking code is ${$('short-code').textContent}.`;
    $('step-audit').focus();
  } catch (e) {
    $('audit-result').textContent = `AUDIT FAILED: ${errorText(e)} Do not cast a ballot from this device; tell the election officials.`;
    $('audit-result').className = 'bad';
    $('step-audit').hidden = false;
    $('step-audit').focus();
  }
}

// Whether the receipt's ballot is already in a checkpoint the witness
// quorum cosigned (SPEC.md §14.1); witnesses cosign within minutes, so
// the voter can ask again.
async function witnessStatus(receipt) {
  const out = $('witness-status');
  out.textContent = 'Asking the witnesses…';
  out.className = 'muted';
  try {
    const report = await recheckReceipt(receipt);
    out.textContent = report.summary;
    out.className = { witnessed: 'ok', waiting: 'muted' }[report.verdict] || 'bad';
    out.dataset.verdict = report.verdict;
  } catch (e) {
    out.textContent = `The witnesses could not be asked: ${errorText(e)}`;
    out.className = 'bad';
    out.dataset.verdict = 'error';
  }
  $('recheck').hidden = false;
}

async function onCast() {
  if (!ballot || busy) return;
  setBusy('Casting your ballot…');
  try {
    const answer = await postJSON(`${api(id)}/posts`, ballot.post_json());
    const index = JSON.parse(answer).index;
    setBusy('Checking the receipt…');
    const line = await getText(`${api(id)}/entries?start=${index}&end=${index + 1}`);
    const receipt = election.accept_receipt(ballot, answer, line, location.origin);
    const parsed = JSON.parse(receipt);
    ballot.free();
    ballot = null;
    $('done-code').textContent = parsed.short_code;
    $('done-index').textContent = String(parsed.index);
    $('receipt').value = receipt;
    $('step-decide').hidden = true;
    $('ballot-form').hidden = true;
    $('step-credential').hidden = true;
    $('step-audit').hidden = true;
    $('step-done').hidden = false;
    setBusy('');
    $('step-done').focus();
    witnessStatus(receipt);
  } catch (e) {
    setBusy('');
    fatal(`Your ballot was not recorded: ${errorText(e)}`);
  }
}

async function main() {
  if (!id) { fatal('This address does not name an election.'); return; }
  $('election-link').href = `/elections/${encodeURIComponent(id)}`;
  try {
    await ready();
    const [boardText, status] = await Promise.all([getText('/api/v1/board'), getJSON(api(id))]);
    election = await loadElection(id, boardText, status);
    info = JSON.parse(election.info_json());
  } catch (e) {
    $('title').textContent = 'This election cannot be shown';
    fatal(`${errorText(e)}`);
    markReady();
    return;
  }
  document.title = `Vote: ${info.title} — Psephos`;
  $('title').textContent = info.title;
  bundleCheck(info.bundle_sha256);
  if (info.state !== 'open') {
    $('state').textContent = `Voting is not open (the election is ${info.state.replace('_', ' ')}).`;
    markReady();
    return;
  }
  $('state').textContent = 'Voting is open.';
  renderContests();
  $('step-credential').hidden = false;
  $('ballot-form').hidden = false;
  $('ballot-form').addEventListener('submit', onEncrypt);
  $('credential').addEventListener('input', discardBallot);
  $('credential-file').addEventListener('change', async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    $('credential').value = (await file.text()).trim();
    discardBallot();
    $('credential-error').textContent = '';
  });
  $('cast').addEventListener('click', onCast);
  $('audit').addEventListener('click', onAudit);
  $('copy-audit').addEventListener('click', () => copy($('audit-code').value, $('busy')));
  $('save-audit').addEventListener('click', () => save(`psephos-audit-${id}.txt`, $('audit-code').value + '\n'));
  $('recheck').addEventListener('click', () => witnessStatus($('receipt').value));
  $('copy-receipt').addEventListener('click', () => copy($('receipt').value, $('busy')));
  $('save-receipt').addEventListener('click', () => save(`psephos-receipt-${id}.json`, $('receipt').value + '\n'));
  markReady();
}

main();
