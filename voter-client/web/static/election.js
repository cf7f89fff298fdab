// The public election page: status, timeline, trustees, checkpoint,
// tracking-code search, audit-code check, results, and how to verify.
import { $, wasm, ready, electionIdFromPath, getText, getJSON, api, loadElection,
  errorText, bundleCheck, markReady, recheckReceipt, recheckText } from './common.js';

const id = electionIdFromPath();
const STATES = [['setup', 'Set up'], ['key_ceremony', 'Key ceremony'], ['ready', 'Ready'],
  ['open', 'Voting open'], ['closed', 'Voting closed'], ['tallied', 'Tallied']];

function fact(list, term, value, mono) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  if (mono) dd.className = 'mono';
  list.append(dt, dd);
}

// The states in order, each with the time of the entry that reached it
// (read from the first and the last entries of the log).
async function timeline(state, size, threshold) {
  const ol = $('timeline');
  const times = {};
  try {
    const windows = size <= 512 ? [[0, size]] : [[0, 256], [size - 256, size]];
    let lines = '';
    for (const [a, b] of windows) lines += await getText(`${api(id)}/entries?start=${a}&end=${b}`);
    for (const m of JSON.parse(wasm.timeline(lines, threshold))) times[m.state] = m.time;
  } catch (_) { /* the states are still shown, without times */ }
  const at = STATES.findIndex(([s]) => s === state);
  STATES.forEach(([s, label], i) => {
    const li = document.createElement('li');
    li.textContent = label;
    if (times[s] !== undefined) {
      const when = new Date(times[s] * 1000);
      const t = document.createElement('time');
      t.dateTime = when.toISOString();
      t.textContent = `${when.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
      li.append(' ', t);
    }
    if (i < at) li.className = 'done';
    if (s === state) li.setAttribute('aria-current', 'step');
    ol.appendChild(li);
  });
}

function results(manifest, counts) {
  const root = $('results');
  manifest.contests.forEach((c, ci) => {
    const h = document.createElement('h3');
    h.textContent = c.title;
    root.appendChild(h);
    const row = counts[ci] || [];
    const most = Math.max(1, ...row);
    const total = row.reduce((a, b) => a + b, 0);
    const table = document.createElement('div');
    table.setAttribute('role', 'table');
    table.setAttribute('aria-label', `Results: ${c.title}`);
    c.options.forEach((o, oi) => {
      const n = row[oi] || 0;
      const line = document.createElement('div');
      line.className = 'bar-row';
      line.setAttribute('role', 'row');
      const name = document.createElement('span');
      name.setAttribute('role', 'rowheader');
      name.textContent = o.label;
      const track = document.createElement('span');
      track.setAttribute('role', 'cell');
      track.setAttribute('aria-hidden', 'true');
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.display = 'block';
      bar.style.width = `${(100 * n) / most}%`;
      track.appendChild(bar);
      const count = document.createElement('span');
      count.className = 'bar-count';
      count.setAttribute('role', 'cell');
      count.textContent = String(n);
      count.title = total ? `${((100 * n) / total).toFixed(1)}%` : '';
      line.append(name, track, count);
      table.appendChild(line);
    });
    root.appendChild(table);
  });
  $('results-section').hidden = false;
}

function normalise(code) {
  return code.trim().replace(/[\s-]/g, '').toLowerCase();
}

async function search(ev, size) {
  ev.preventDefault();
  const out = $('search-result');
  const wanted = normalise($('search').value);
  if (!/^[0-9a-f]{16}$|^[0-9a-f]{64}$/.test(wanted)) {
    out.textContent = 'A tracking code is 16 characters (like 3F2A-9C01-77B4-E5D0) or 64 characters long, digits 0–9 and letters A–F.';
    out.className = 'bad';
    return;
  }
  out.className = '';
  const status = await getJSON(api(id));
  const page = 256;
  for (let start = 0; start < status.size;) {
    const end = Math.min(start + page, status.size);
    out.textContent = `Searching entries ${start}–${end - 1} of ${status.size}…`;
    const lines = await getText(`${api(id)}/entries?start=${start}&end=${end}`);
    // A page may hold fewer entries than asked (a byte cap, SPEC.md §10.1).
    const got = lines.split('\n').filter((l) => l).length;
    if (got === 0) throw new Error(`the board served no entries at ${start}`);
    start += got;
    const found = JSON.parse(wasm.ballot_codes(lines)).find((b) => b.code.startsWith(wanted));
    if (found) {
      out.textContent = `Found: ballot ${found.short} is entry ${found.index} of the public record.`;
      out.className = 'ok';
      return;
    }
  }
  out.textContent = `No ballot with this tracking code is in the ${status.size} entries of the record.`;
  out.className = 'bad';
}

async function checkAudit(ev, boardText) {
  ev.preventDefault();
  const out = $('audit-result');
  const pre = $('audit-report');
  pre.hidden = true;
  out.className = '';
  out.textContent = 'Checking…';
  try {
    const status = await getJSON(api(id));
    const election = await loadElection(id, boardText, status);
    const report = JSON.parse(election.check_audit_code($('audit-code').value));
    out.textContent = `The audit passed: compare these choices with the ones you made for ballot ${report.short_code}.`;
    out.className = 'ok';
    pre.textContent = report.text;
    pre.hidden = false;
  } catch (e) {
    out.textContent = `The audit did not pass: ${errorText(e)}`;
    out.className = 'bad';
  }
}

// Re-check a saved receipt against the board and each witness (SPEC.md §13.5).
async function checkReceipt(ev) {
  ev.preventDefault();
  const out = $('receipt-result');
  const pre = $('receipt-report');
  pre.hidden = true;
  out.className = '';
  out.textContent = 'Asking the board and the witnesses…';
  try {
    const report = await recheckReceipt($('receipt-text').value.trim());
    out.textContent = report.summary;
    out.className = { witnessed: 'ok', waiting: '' }[report.verdict] ?? 'bad';
    out.dataset.verdict = report.verdict;
    pre.textContent = recheckText(report);
    pre.hidden = false;
  } catch (e) {
    out.textContent = `The receipt could not be checked: ${errorText(e)}`;
    out.className = 'bad';
    out.dataset.verdict = 'error';
  }
}

async function main() {
  if (!id) { $('fatal').textContent = 'This address does not name an election.'; $('fatal').hidden = false; return; }
  try {
    await ready();
    const [boardText, status, note] = await Promise.all([
      getText('/api/v1/board'), getJSON(api(id)), getText(`${api(id)}/checkpoint`)]);
    const board = JSON.parse(boardText);
    const manifest = JSON.parse(wasm.manifest_summary(boardText, id, await getText(`${api(id)}/entries?start=0&end=1`)));
    document.title = `${manifest.title} — Psephos`;
    $('title').textContent = manifest.title;
    await timeline(status.state, status.size, manifest.threshold);
    if (status.state === 'open') {
      $('vote-link').href = `/elections/${encodeURIComponent(id)}/vote`;
      $('vote-link').hidden = false;
    }
    const facts = $('facts');
    fact(facts, 'State', (STATES.find(([s]) => s === status.state) || [0, status.state])[1]);
    fact(facts, 'Trustees', `${manifest.trustees.join(', ')} — any ${manifest.threshold} of ${manifest.trustees.length} can decrypt the tally`);
    if (Array.isArray(status.acks)) fact(facts, 'Key acknowledgements', `${status.acks.length} of ${manifest.trustees.length} trustees checked the joint key`);
    if (status.ballots !== undefined) fact(facts, 'Ballots received', String(status.ballots));
    if (status.counted !== undefined && status.counted !== null) fact(facts, 'Ballots counted', String(status.counted));
    fact(facts, 'Entries in the record', String(status.size));
    if (status.fingerprint) fact(facts, 'Election fingerprint', status.fingerprint, true);
    const cp = JSON.parse(wasm.checkpoint_summary(boardText, id, note));
    const cpl = $('checkpoint');
    fact(cpl, 'Log', cp.origin, true);
    fact(cpl, 'Size', String(cp.size));
    fact(cpl, 'Root', cp.root, true);
    fact(cpl, 'Signed by', `${board.origin} (board key ${board.key})`, true);
    fact(cpl, 'Cosigned by', cp.cosigners.length ? cp.cosigners.join(', ') : 'no mirror yet');
    if (status.result) results(manifest, status.result);
    $('verify-command').textContent =
      `psephos-verify ${location.origin} --election ${id} \\\n  --board-key '${board.key}'${status.state === 'tallied' ? ' --require-result' : ''}`;
    bundleCheck(status.bundle_sha256);
    $('search-form').addEventListener('submit', (ev) => search(ev).catch((e) => { $('search-result').textContent = errorText(e); }));
    $('audit-form').addEventListener('submit', (ev) => checkAudit(ev, boardText));
    $('receipt-form').addEventListener('submit', checkReceipt);
    $('receipt-file').addEventListener('change', async (ev) => {
      const file = ev.target.files[0];
      if (file) $('receipt-text').value = (await file.text()).trim();
    });
  } catch (e) {
    $('fatal').textContent = `This election cannot be shown: ${errorText(e)}`;
    $('fatal').hidden = false;
  }
  markReady();
}

main();
