// The result page's live part: asks /submission/<id>/progress.json every 1.5 s, updates the
// status, the steps and the messages in place, and reloads the page (rendered by the server,
// with the files, rules and form) when the status changes. Stops at a final status.
(function () {
  'use strict';
  var section = document.getElementById('submission');
  if (!section) return;
  var id = section.getAttribute('data-results-id');
  var shown = section.getAttribute('data-status');
  var finals = (section.getAttribute('data-final') || '').split(' ');
  if (shown && finals.indexOf(shown) >= 0) return;
  var url = '/submission/' + encodeURIComponent(id) + '/progress.json';

  function text(m) {
    return typeof m.data === 'string' ? m.data : 'done: status ' + m.data.status + ', ' + m.data.result;
  }
  function update(p) {
    if (p.status !== shown) {
      location.reload();
      return false;
    }
    (p.steps || []).forEach(function (s) {
      var row = document.getElementById('step-' + s.name);
      if (!row) return;
      var status = row.querySelector('.step-status');
      status.textContent = s.status;
      status.className = 'step-status step-' + s.status;
      row.querySelector('.step-detail').textContent = s.detail || '';
    });
    var list = document.getElementById('messages');
    if (list) {
      var last = list.lastElementChild ? Number(list.lastElementChild.getAttribute('data-id')) : 0;
      (p.messages || []).forEach(function (m) {
        if (m.id <= last) return;
        var li = document.createElement('li');
        li.setAttribute('data-id', String(m.id));
        li.className = 'msg-' + m.type;
        var time = document.createElement('span');
        time.className = 'hint';
        time.textContent = m.time;
        li.appendChild(time);
        li.appendChild(document.createTextNode(' ' + text(m)));
        list.appendChild(li);
      });
    }
    return true;
  }
  function poll() {
    fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (p && !update(p)) return;
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 1500); });
  }
  setTimeout(poll, 1500);
})();
