// Shared by the Psephos pages: the board API over fetch, and loading a
// checked election through the WebAssembly client. Every message shown to
// a person is a sentence.
import init, * as wasm from './psephos_voter.js';

export { wasm };

export const $ = (id) => document.getElementById(id);

export function electionIdFromPath() {
  const m = location.pathname.match(/^\/elections\/([^/]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

export async function ready() {
  await init();
}

async function failure(response) {
  let detail = `the board answered ${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.message) detail = body.message;
  } catch (_) { /* not JSON: keep the status line */ }
  const e = new Error(detail);
  e.status = response.status;
  return e;
}

export async function getText(path) {
  let response;
  try {
    response = await fetch(path, { cache: 'no-store' });
  } catch (_) {
    throw new Error('The board cannot be reached. Check your connection and try again.');
  }
  if (!response.ok) throw await failure(response);
  return response.text();
}

export async function getJSON(path) {
  return JSON.parse(await getText(path));
}

export async function postJSON(path, text) {
  let response;
  try {
    response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
  } catch (_) {
    throw new Error('The board cannot be reached, so your ballot was not cast. Check your connection and try again.');
  }
  if (!response.ok) throw await failure(response);
  return response.text();
}

export function api(id) {
  return `/api/v1/elections/${encodeURIComponent(id)}`;
}

// Read the log from entry 0 to the joint key, check it against the signed
// checkpoint, and return the checked election (SPEC.md §13.1).
export async function loadElection(id, boardText, status) {
  const loader = new wasm.ElectionLoader(id, boardText);
  const page = 32;
  while (!loader.done()) {
    const start = loader.next_index();
    if (start >= status.size) break;
    const end = Math.min(start + page, status.size);
    loader.push_entries(await getText(`${api(id)}/entries?start=${start}&end=${end}`));
  }
  let proof = '{"index":0,"size":0,"leaf_hash":"","proof":[]}';
  if (loader.done()) {
    const size = Number(status.checkpoint.split('\n')[1]);
    proof = await getText(`${api(id)}/proof/inclusion?index=${loader.next_index() - 1}&size=${size}`);
  }
  return loader.finish(JSON.stringify(status), proof);
}

// Re-check a receipt against the board and every witness it names
// (SPEC.md §13.5, §14.1): each one's latest checkpoint, the consistency
// proofs from the largest, the witnesses' cosignature quorum. The checks
// are the Rust client's (recheck.rs); a proven fork's evidence is offered
// to every witness (SPEC.md §10.9.4). Resolves to the report.
export async function recheckReceipt(receiptText) {
  const receipt = JSON.parse(receiptText);
  const trim = (u) => u.replace(/\/+$/, '');
  const path = api(receipt.election);
  const servers = [{ server: 'board', url: trim(receipt.board_url || location.origin) }]
    .concat((receipt.witnesses || []).map((w) => ({ server: w.name, url: trim(w.url) })));
  const sightings = await Promise.all(servers.map(async (s) => {
    try {
      return { ...s, note: await getText(`${s.url}${path}/checkpoint`) };
    } catch (e) {
      return { ...s, error: errorText(e) };
    }
  }));
  const asks = JSON.parse(wasm.receipt_proofs_to_ask(receiptText, JSON.stringify(sightings)));
  const proofs = [];
  for (const a of asks) {
    try {
      proofs.push(await getJSON(`${trim(a.url || location.origin)}${path}/proof/consistency?from=${a.from}&to=${a.to}`));
    } catch (_) { /* judged as a proof not given */ }
  }
  const report = JSON.parse(wasm.judge_receipt(receiptText, JSON.stringify(sightings),
    JSON.stringify(proofs), Date.now() / 1000));
  if (report.evidence) {
    report.posted = await Promise.all((receipt.witnesses || []).map(async (w) => {
      try {
        const r = await fetch(`${trim(w.url)}${path}/equivocation`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(report.evidence) });
        return `${w.name}: ${r.ok ? 'took the evidence' : `answered ${r.status}`}`;
      } catch (_) {
        return `${w.name}: could not be reached`;
      }
    }));
  }
  return report;
}

const OUTCOMES = {
  holds: (o) => `its log of ${o.size} entries holds the ballot`,
  behind: (o) => `behind: it has ${o.size} entries, not yet the ballot`,
  unreachable: (o) => `could not be asked (${o.why})`,
  failed: (o) => `FAILED: ${o.why}`,
  fork: (o) => `FORK: ${o.why}`,
};

// The report as lines a person reads: one per server, then the verdict.
export function recheckText(report) {
  const lines = report.servers.map((s) => `${s.server === 'board' ? 'Board' : `Witness ${s.server}`} (${s.url}): ${OUTCOMES[s.outcome](s)}`);
  if (report.evidence) {
    lines.push('', 'Evidence (save it; it was offered to every witness):', JSON.stringify(report.evidence, null, 2));
    if (report.posted) lines.push(...report.posted);
  }
  return lines.join('\n');
}

export function errorText(e) {
  const text = (e && e.message) ? e.message : String(e);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function save(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function copy(text, statusEl) {
  try {
    await navigator.clipboard.writeText(text);
    statusEl.textContent = 'Copied.';
  } catch (_) {
    statusEl.textContent = 'Copying is not allowed here: select the text and copy it yourself.';
  }
}

// The bundle self-check: fetch SHA256SUMS and every file it lists, hash each
// here, and derive the bundle hash (SPEC.md §13.6).
export function bundleCheck(logged) {
  $('bundle-log').textContent = logged || 'not named yet (voting has not opened)';
  $('check-bundle').addEventListener('click', async () => {
    const out = $('bundle-result');
    out.textContent = 'Computing…';
    try {
      const sums = await getText('/assets/SHA256SUMS');
      for (const line of sums.split('\n').filter(Boolean)) {
        const [digest, name] = [line.slice(0, 64), line.slice(66)];
        const bytes = new Uint8Array(await (await fetch(`/assets/${name}`, { cache: 'no-store' })).arrayBuffer());
        if (wasm.sha256_hex(bytes) !== digest) throw new Error(`${name} does not match its listed hash`);
      }
      const hash = wasm.bundle_hash(sums);
      const verdict = !logged ? '' : (hash === logged ? ' — matches the election record.' : ' — DOES NOT match the election record!');
      out.textContent = `Computed: ${hash}${verdict}`;
      out.className = logged && hash !== logged ? 'bad' : (logged ? 'ok' : '');
    } catch (e) {
      out.textContent = `The check could not be done: ${errorText(e)}`;
      out.className = 'bad';
    }
  });
}

export function markReady() {
  performance.mark('psephos-ready');
  document.body.dataset.ready = '1';
}
