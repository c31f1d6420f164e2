// Draws the charts of a page with Chart.js (served from /static/vendor/chart.umd.js): each
// <canvas data-chart="kind" data-source="id"> reads its data from the JSON script element
// with that id. Without scripts the pages show the same numbers as tables.
(function () {
  if (typeof Chart === 'undefined') return;
  const palette = ['#0b3d91', '#fc3d21', '#0a7d32', '#8a5a00', '#6a1b9a', '#00838f', '#c2185b', '#455a64', '#9e9d24', '#5d4037'];
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const draw = {
    timeline(data) {
      return {
        type: 'line',
        data: { datasets: [{ label: data.label, data: data.points.map((p) => ({ x: Date.parse(p.x), y: p.y, context: p.context })), stepped: true, borderColor: palette[0], pointRadius: 2 }] },
        options: {
          maintainAspectRatio: false,
          parsing: false,
          scales: { x: { type: 'linear', ticks: { callback: (v) => new Date(v).toISOString().slice(0, 10) } }, y: { title: { display: true, text: 'context serial' } } },
          plugins: { tooltip: { callbacks: { label: (item) => `${item.raw.context} since ${new Date(item.raw.x).toISOString().slice(0, 10)}` } } },
        },
      };
    },
    monthly(data) {
      return {
        type: 'bar',
        data: { labels: data.months, datasets: Object.entries(data.series).map(([instrument, counts], i) => ({ label: instrument, data: counts, backgroundColor: palette[i % palette.length] })) },
        options: { maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true } } },
      };
    },
    types(data) {
      return {
        type: 'bar',
        data: { labels: data.map((d) => d[0]), datasets: [{ label: 'files', data: data.map((d) => d[1]), backgroundColor: palette[0] }] },
        options: { maintainAspectRatio: false, indexAxis: 'x' },
      };
    },
  };
  for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
    const make = draw[canvas.dataset.chart];
    if (make) new Chart(canvas, make(read(canvas.dataset.source)));
  }
})();
