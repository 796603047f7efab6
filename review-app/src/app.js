// The review page: job list, one image at a time with the model's boxes, drawing with Annotorious.
// Every name that comes from data (classes, jobs, image keys) is set with textContent, never as HTML.
import { createImageAnnotator } from '@annotorious/annotorious';
import '@annotorious/annotorious/annotorious.css';
import './app.css';
import { cognitoToken, forgetToken, localToken, storedToken } from './signin.js';

const $ = (id) => document.getElementById(id);
const state = { token: null, task: null, anno: null, currentClass: 0, clockSkewMs: 0, timer: null, heartbeat: null, selectedId: null };

// The local server's token from the URL, a stored token, or (deployed) the user pool's sign-in.
async function signIn() {
  state.token = localToken() || storedToken() || await cognitoToken();
}

function say(text, error = false) {
  const s = $('status');
  s.textContent = text;
  s.className = error ? 'error' : '';
}

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + state.token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 204) return null;
  const json = await r.json();
  if (r.status === 401) forgetToken();
  if (!r.ok) throw Object.assign(new Error(json.message || r.statusText), { code: json.error, status: r.status });
  return json;
}

function cell(tr, text) {
  const td = document.createElement('td');
  td.textContent = text;
  tr.appendChild(td);
  return td;
}

async function showJobs() {
  stopTask();
  $('task-view').hidden = true;
  $('jobs-view').hidden = false;
  const { jobs } = await api('GET', '/api/jobs');
  const body = $('jobs').tBodies[0];
  body.replaceChildren();
  for (const job of jobs) {
    const tr = document.createElement('tr');
    cell(tr, job.name);
    cell(tr, job.status);
    cell(tr, `${job.submitted + job.expired} / ${job.total}`);
    cell(tr, String(job.open));
    const td = cell(tr, '');
    if (job.status === 'InProgress' && job.open > 0) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Label';
      b.addEventListener('click', () => nextTask(job.name));
      td.appendChild(b);
    }
    body.appendChild(tr);
  }
  if (!jobs.length) say('No jobs yet.');
}

function stopTask() {
  clearInterval(state.timer);
  clearInterval(state.heartbeat);
  if (state.anno) state.anno.destroy();
  state.anno = null;
  state.task = null;
}

function geometry(x, y, w, h) {
  return { x, y, w, h, bounds: { minX: x, minY: y, maxX: x + w, maxY: y + h } };
}

function toAnnotation(box, i) {
  const id = 'prior-' + i;
  return {
    id,
    bodies: [{ id: id + '-label', annotation: id, purpose: 'tagging', value: box.label }],
    target: { annotation: id, selector: { type: 'RECTANGLE', geometry: geometry(box.left, box.top, box.width, box.height) } },
  };
}

const labelOf = (a) => (a.bodies.find((b) => b.purpose === 'tagging') || {}).value;

function setLabel(a, label) {
  // The selection editor holds its own copy of a selected shape and writes it back on deselect, so the
  // label is changed with the shape deselected and the selection restored afterwards.
  const selected = state.anno.getSelected().some((s) => s.id === a.id);
  if (selected) state.anno.cancelSelected();
  const current = state.anno.getAnnotationById(a.id) || a;
  const others = current.bodies.filter((b) => b.purpose !== 'tagging');
  state.anno.updateAnnotation({ ...current, bodies: [...others, { id: a.id + '-label', annotation: a.id, purpose: 'tagging', value: label }] });
  if (selected) state.anno.setSelected(a.id);
}

function renderClasses() {
  const list = $('classes');
  list.replaceChildren();
  state.task.categories.forEach((name, i) => {
    const li = document.createElement('li');
    li.textContent = name;
    li.dataset.index = String(i);
    if (i === state.currentClass) li.className = 'current';
    li.addEventListener('click', () => chooseClass(i));
    list.appendChild(li);
  });
}

function renderBoxes() {
  const list = $('boxes');
  list.replaceChildren();
  for (const a of state.anno.getAnnotations()) {
    const g = a.target.selector.geometry;
    const li = document.createElement('li');
    li.textContent = `${labelOf(a) ?? '?'} (${Math.round(g.x)}, ${Math.round(g.y)}, ${Math.round(g.w)}×${Math.round(g.h)})`;
    li.dataset.id = a.id;
    if (a.id === state.selectedId) li.className = 'selected';
    li.addEventListener('click', () => state.anno.setSelected(a.id));
    list.appendChild(li);
  }
}

function chooseClass(i) {
  if (i >= state.task.categories.length) return;
  state.currentClass = i;
  const selected = state.anno.getSelected()[0];
  if (selected) setLabel(selected, state.task.categories[i]);
  renderClasses();
  renderBoxes();
}

function deleteSelected() {
  const selected = state.anno.getSelected()[0];
  if (selected) state.anno.removeAnnotation(selected.id);
  state.selectedId = null;
  renderBoxes();
}

function startTimer() {
  const tick = () => {
    const left = Math.max(0, Date.parse(state.task.leaseExpiresAt) - (Date.now() + state.clockSkewMs));
    const s = Math.floor(left / 1000);
    const out = $('lease-timer');
    out.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    out.className = s < 60 ? 'low' : '';
  };
  tick();
  state.timer = setInterval(tick, 1000);
  state.heartbeat = setInterval(async () => {
    try {
      const r = await api('POST', `/api/jobs/${encodeURIComponent(state.task.job)}/tasks/${state.task.index}/heartbeat`, { leaseId: state.task.leaseId });
      state.task.leaseExpiresAt = r.leaseExpiresAt;
    } catch (e) {
      say(e.message, true);
    }
  }, 60_000);
}

async function nextTask(job) {
  stopTask();
  let task;
  try {
    task = await api('POST', `/api/jobs/${encodeURIComponent(job)}/lease`);
  } catch (e) {
    say(e.message, true);
    return showJobs();
  }
  if (!task) {
    say(`No open images left in ${job}.`);
    return showJobs();
  }
  state.task = task;
  state.clockSkewMs = Date.parse(task.serverTime) - Date.now();
  state.currentClass = 0;
  $('jobs-view').hidden = true;
  $('task-view').hidden = false;
  $('task-title').textContent = `${task.job} · image ${task.index + 1} of ${task.total} · ${task.imageKey}`;
  const img = $('image');
  await new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = () => reject(new Error('the image did not load'));
    img.src = task.imageUrl;
  });
  const anno = createImageAnnotator(img, { drawingEnabled: true, drawingMode: 'drag' });
  anno.setDrawingTool('rectangle');
  state.anno = anno;
  anno.setAnnotations(task.priorBoxes.map(toAnnotation));
  anno.on('createAnnotation', (a) => {
    if (!labelOf(a)) setLabel(a, state.task.categories[state.currentClass]);
    renderBoxes();
  });
  anno.on('updateAnnotation', renderBoxes);
  anno.on('deleteAnnotation', renderBoxes);
  anno.on('selectionChanged', (sel) => {
    state.selectedId = sel.length ? sel[0].id : null;
    const label = sel.length ? labelOf(sel[0]) : null;
    const i = label ? state.task.categories.indexOf(label) : -1;
    if (i >= 0) state.currentClass = i;
    renderClasses();
    renderBoxes();
  });
  renderClasses();
  renderBoxes();
  startTimer();
  say(`${task.priorBoxes.length} box(es) from the model to check.`);
}

async function submit(noObjects) {
  const t = state.task;
  if (!t) return;
  const boxes = noObjects ? [] : state.anno.getAnnotations().map((a) => {
    const g = a.target.selector.geometry;
    return { label: labelOf(a), left: g.x, top: g.y, width: g.w, height: g.h };
  });
  if (!noObjects && boxes.length === 0) {
    say('No boxes drawn: press "No objects" to say the image shows nothing.', true);
    return;
  }
  try {
    const r = await api('POST', `/api/jobs/${encodeURIComponent(t.job)}/tasks/${t.index}/submit`, { leaseId: t.leaseId, boxes, noObjects });
    say(r.jobStatus === 'Completed' ? `Job ${t.job} is complete.` : 'Saved.');
    if (r.jobStatus === 'Completed') return showJobs();
    return nextTask(t.job);
  } catch (e) {
    say(e.message, true);
  }
}

function onKey(e) {
  if (!state.task || e.target instanceof HTMLInputElement) return;
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'z') {
    e.preventDefault();
    state.anno.undo();
    renderBoxes();
  } else if (e.key === 'Escape') {
    state.anno.cancelSelected();
    state.selectedId = null;
    renderBoxes();
  } else if (e.key === 'Delete' || e.key === 'Backspace') {
    e.preventDefault();
    deleteSelected();
  } else if (e.key === 'n' || e.key === 'N' || e.key === 'Enter') {
    e.preventDefault();
    submit(false);
  } else if (/^[1-9]$/.test(e.key)) {
    chooseClass(Number(e.key) - 1);
  }
}

document.addEventListener('DOMContentLoaded', async () => {
  try {
    await signIn();
  } catch (e) {
    say(e.message, true);
    return;
  }
  $('back').addEventListener('click', showJobs);
  $('delete').addEventListener('click', deleteSelected);
  $('undo').addEventListener('click', () => { state.anno.undo(); renderBoxes(); });
  $('no-objects').addEventListener('click', () => submit(true));
  $('submit').addEventListener('click', () => submit(false));
  document.addEventListener('keydown', onKey);
  if (!state.token) {
    say('Open the link edgelabel printed (it carries the sign-in token).', true);
    return;
  }
  showJobs().catch((e) => say(e.message, true));
});
