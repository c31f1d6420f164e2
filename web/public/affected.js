// Follows an affected-datasets run: polls its progress JSON, shows batches and rates while it
// runs, then the counts per instrument and type as a table and a bar chart (chart.js).
/* global Chart */
function followAffectedRun(url, kind) {
  const status = document.getElementById('preview-status');
  const bar = document.getElementById('preview-progress');
  const table = document.getElementById('preview-counts');
  let chart;
  const rows = (counts) => Object.entries(counts).flatMap(([instrument, types]) => Object.entries(types).map(([type, n]) => [instrument, type, n]));
  function show(p) {
    const r = rows(p.counts);
    table.replaceChildren();
    const head = table.insertRow();
    for (const h of ['Instrument', 'Type', 'Datasets whose reference changes']) head.appendChild(Object.assign(document.createElement('th'), { textContent: h }));
    for (const [instrument, type, n] of r) {
      const tr = table.insertRow();
      for (const v of [instrument, type, n]) tr.insertCell().textContent = String(v);
    }
    const data = { labels: r.map(([i, t]) => `${i} ${t}`), datasets: [{ label: 'updated exposures', data: r.map(([, , n]) => n), backgroundColor: '#0b3d91' }] };
    if (typeof Chart !== 'undefined') {
      if (chart) { chart.data = data; chart.update(); } else chart = new Chart(document.getElementById('preview-chart'), { type: 'bar', data, options: { animation: false, indexAxis: 'y' } });
    }
  }
  async function poll() {
    let p;
    try {
      const res = await fetch(url, { cache: 'no-store' });
      p = await res.json();
      if (!res.ok) throw new Error(p.error || res.statusText);
    } catch (err) {
      status.textContent = `progress unavailable: ${err.message}; retrying`;
      setTimeout(poll, 2000);
      return;
    }
    bar.max = Math.max(1, p.datasetsTotal);
    bar.value = p.datasetsDone;
    const done = p.status === 'completed';
    status.className = done ? 'step-done' : p.status === 'failed' ? 'step-failed' : 'step-running';
    status.textContent = `${p.status}: ${p.datasetsDone} of ${p.datasetsTotal} datasets, ${p.batchesDone}/${p.batchesTotal} batches, ${p.datasetsPerSecond} datasets/s; ${p.affected} affected, ${p.errors} errors${p.failure ? ' — ' + p.failure : ''}`;
    status.dataset.status = p.status;
    show(p);
    const link = document.getElementById('result-link');
    if (link && p.computationDir) {
      link.hidden = false;
      link.querySelector('a').href = `/affected_datasets/${encodeURIComponent(p.computationDir)}/`;
    }
    if (!done && p.status !== 'failed') setTimeout(poll, 1000);
  }
  poll();
}

// The pages' wiring (no inline scripts: the content security policy allows only our files).
(() => {
  const following = document.querySelector('#preview[data-follow]');
  if (following) followAffectedRun(following.dataset.follow, following.dataset.kind);
  const button = document.getElementById('preview-button');
  if (!button) return;
  button.addEventListener('click', async () => {
    const context = document.getElementById('context').value;
    const res = await fetch('/set_default_context/preview', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRFToken': button.dataset.csrf },
      body: new URLSearchParams({ context }),
    });
    const body = await res.json();
    document.getElementById('preview').hidden = false;
    if (!res.ok) {
      document.getElementById('preview-status').textContent = body.error;
      return;
    }
    document.getElementById('preview-transition').textContent = `${button.dataset.operational} → ${context}`;
    followAffectedRun(body.progress, 'preview');
  });
})();
