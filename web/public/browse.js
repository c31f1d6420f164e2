// Context table: opening a row's <details> shows the rmap's rows in place (from the rmap
// page's JSON twin). Without scripts the row links to the rmap's page.
(function () {
  const cell = (text) => {
    const td = document.createElement('td');
    td.textContent = text;
    return td;
  };
  for (const details of document.querySelectorAll('details.rmap-rows')) {
    details.addEventListener('toggle', async () => {
      if (!details.open || details.dataset.loaded) return;
      details.dataset.loaded = '1';
      const res = await fetch('/browse/' + encodeURIComponent(details.dataset.rmap) + '?format=json');
      if (!res.ok) return;
      const rows = (await res.json()).rmap || [];
      const table = document.createElement('table');
      table.className = 'data rmap-rows';
      for (const row of rows.slice(0, 500)) {
        const tr = document.createElement('tr');
        for (const k of row.keys) tr.appendChild(cell(k.join(', ')));
        tr.appendChild(cell(row.choice.join(', ')));
        table.appendChild(tr);
      }
      details.appendChild(table);
    });
  }
})();
