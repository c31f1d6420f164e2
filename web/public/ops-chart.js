// The dashboard's disk usage chart (chart.js, served from our own files).
(function () {
  var data = JSON.parse(document.getElementById('disk-data').textContent);
  if (!window.Chart || !data.labels.length) return;
  new window.Chart(document.getElementById('disk-chart'), {
    type: 'line',
    data: { labels: data.labels, datasets: data.folders.map(function (f) { return { label: f.folder, data: f.mb }; }) },
    options: { animation: false, scales: { y: { title: { display: true, text: 'MB' } } } },
  });
})();
