// The submission page's uploader: sends each chosen file to /upload/chunked/ in chunks
// with Content-Range (as the real crds client does), shows the progress of all the bytes
// in one bar, and after a dropped connection asks the server how much arrived and goes on
// from there. Also deletes files from the ingest folder.
(function () {
  'use strict';
  const root = document.getElementById('uploader');
  if (!root) return;
  const chunkSize = Number(root.dataset.chunkSize) || 2000000;
  const input = document.getElementById('upload-files');
  const button = document.getElementById('upload-start');
  const bar = document.getElementById('upload-progress');
  const status = document.getElementById('upload-status');
  const table = document.querySelector('#ingest-files tbody');
  const RETRIES = 5;

  function csrfToken() {
    const m = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
    return m ? decodeURIComponent(m[1]) : root.dataset.csrfToken;
  }

  /** One POST; resolves with the JSON reply, rejects with {status, message}. */
  function post(file, start, end, onProgress) {
    return new Promise(function (resolve, reject) {
      const form = new FormData();
      form.append('csrfmiddlewaretoken', csrfToken());
      form.append('files', end === undefined ? file : file.slice(start, end + 1), file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/upload/chunked/');
      xhr.setRequestHeader('X-CSRFToken', csrfToken());
      if (end !== undefined) xhr.setRequestHeader('Content-Range', 'bytes ' + start + '-' + end + '/' + file.size);
      xhr.upload.onprogress = function (e) { onProgress(e.loaded * ((end === undefined ? file.size : end + 1 - start) / (e.total || 1))); };
      xhr.onload = function () {
        let reply = null;
        try { reply = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(reply);
        else reject({ status: xhr.status, message: (reply && reply.error) || 'HTTP ' + xhr.status });
      };
      xhr.onerror = function () { reject({ status: 0, message: 'the connection was lost' }); };
      xhr.send(form);
    });
  }

  /** How many bytes of `name` the server holds: where to resume. */
  async function uploaded(name) {
    const res = await fetch('/upload/chunked/?file=' + encodeURIComponent(name), { credentials: 'same-origin' });
    if (!res.ok) throw { status: res.status, message: 'HTTP ' + res.status };
    return (await res.json()).uploaded || 0;
  }

  function showFile(name, size) {
    let row = table.querySelector('tr[data-name="' + CSS.escape(name) + '"]');
    if (!row) {
      row = document.createElement('tr');
      row.dataset.name = name;
      row.innerHTML = '<td></td><td></td><td><button type="button" class="delete-upload">Delete</button></td>';
      row.querySelector('button').dataset.name = name;
      table.appendChild(row);
    }
    row.cells[0].textContent = name;
    row.cells[1].textContent = String(size);
  }

  async function uploadFile(file, progress) {
    if (file.size < chunkSize) {
      await post(file, 0, undefined, progress);
      return;
    }
    let start = 0;
    let failures = 0;
    while (start < file.size) {
      const end = Math.min(start + chunkSize, file.size) - 1;
      try {
        await post(file, start, end, function (n) { progress(start + n); });
        start = end + 1;
        failures = 0;
      } catch (err) {
        // A refusal (bad name, too large, disk full) is final; a lost connection is retried.
        if ((err.status && err.status < 500) || err.status === 507 || ++failures > RETRIES) throw err;
        status.textContent = file.name + ': ' + err.message + '; resuming…';
        await new Promise(function (r) { setTimeout(r, 1000 * failures); });
        start = await uploaded(file.name).catch(function () { return start; });
      }
    }
  }

  button.addEventListener('click', async function () {
    const files = Array.from(input.files || []);
    if (files.length === 0) { status.textContent = 'Choose files first.'; return; }
    const total = files.reduce(function (n, f) { return n + f.size; }, 0) || 1;
    let done = 0;
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    const errors = [];
    for (const file of files) {
      status.textContent = 'Uploading ' + file.name + '…';
      try {
        await uploadFile(file, function (n) { bar.value = (100 * (done + n)) / total; });
        showFile(file.name, file.size);
      } catch (err) {
        errors.push(file.name + ': ' + err.message);
      }
      done += file.size;
      bar.value = (100 * done) / total;
    }
    button.disabled = false;
    input.value = '';
    status.textContent = errors.length ? 'Failed: ' + errors.join(' ') : 'Uploaded ' + files.length + ' file(s).';
    status.className = errors.length ? 'error' : '';
  });

  table.addEventListener('click', async function (e) {
    const target = e.target;
    if (!(target instanceof HTMLElement) || !target.classList.contains('delete-upload')) return;
    const name = target.dataset.name;
    const res = await fetch('/upload/delete/' + encodeURIComponent(name), {
      method: 'DELETE', credentials: 'same-origin', headers: { 'X-CSRFToken': csrfToken() },
    });
    if (res.ok) target.closest('tr').remove();
    else status.textContent = 'Could not delete ' + name + ': HTTP ' + res.status;
  });
})();
