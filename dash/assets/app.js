// bgrun dashboard: plain ES2020, no dependencies, no build step.
//
// Safety rule: everything that comes from the server (names, commands, paths,
// log text, history metadata) reaches the DOM only through textContent,
// createElement and setAttribute. innerHTML is used solely for the static SVG
// icons defined in ICONS below.
'use strict';

(() => {
  // ---------------------------------------------------------------- basics

  const $ = (sel, root = document) => root.querySelector(sel);
  // The login link's token has become an HttpOnly cookie (the server set it
  // with this page): drop it from the address bar, the history and bookmarks.
  if (new URLSearchParams(location.search).has('token')) {
    history.replaceState(null, '', location.pathname + location.hash);
  }

  const LS_COLLAPSED = 'bgrun.collapsedGroups';
  const LS_FOLLOW = 'bgrun.logFollow';
  const LS_WRAP = 'bgrun.logWrap';
  const LS_GROUP = 'bgrun.groupFilter';

  const MAX_LOG_LINES = 20000;
  const LOG_POLL_MS = 1000;
  const SPARK_W = 56;
  const SPARK_H = 18;

  const STATUS_LABEL = {
    running: 'Running', starting: 'Starting', restarting: 'Restarting', errored: 'Errored',
    exited: 'Exited', killed: 'Killed', paused: 'Paused', stopping: 'Stopping', stopped: 'Stopped', failed: 'Failed', unknown: 'Unknown',
  };

  function lsGet(key, fallback) {
    try {
      const v = localStorage.getItem(key);
      return v === null ? fallback : JSON.parse(v);
    } catch (_) {
      return fallback;
    }
  }
  function lsSet(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (_) { /* private mode */ }
  }

  // h builds an element. Strings among children become text nodes, never markup.
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
    return el;
  }

  function setText(el, v) {
    v = String(v);
    if (el.textContent !== v) el.textContent = v;
  }
  function setAttr(el, name, v) {
    if (v === null || v === undefined || v === '') {
      if (el.hasAttribute(name)) el.removeAttribute(name);
    } else if (el.getAttribute(name) !== String(v)) {
      el.setAttribute(name, String(v));
    }
  }
  function setClass(el, cls) {
    if (el.className !== cls) el.className = cls;
  }

  // Static icon markup (no data ever goes in here).
  const ICONS = {
    stop: '<svg viewBox="0 0 16 16" aria-hidden="true"><rect x="4" y="4" width="8" height="8" rx="1.5"/></svg>',
    start: '<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M5.5 3.5l6.5 4.5-6.5 4.5z"/></svg>',
    restart: '<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M13 8.2A5 5 0 1 1 11.4 4.4"/><path d="M12.2 1.8v3.1H9.1"/></svg>',
    guard: '<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M8 1.8l5 1.9v3.9c0 3.1-2.1 5.4-5 6.6-2.9-1.2-5-3.5-5-6.6V3.7z"/></svg>',
    watch: '<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M1.5 8S3.9 3.5 8 3.5 14.5 8 14.5 8 12.1 12.5 8 12.5 1.5 8 1.5 8z"/><circle cx="8" cy="8" r="2"/></svg>',
    delete: '<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M2.8 4.4h10.4M6.3 4.4V2.8h3.4v1.6M4.4 4.4l.6 8.8h6l.6-8.8"/></svg>',
    chev: '<svg class="chev" viewBox="0 0 10 10" aria-hidden="true"><path d="M3 1.5L6.5 5 3 8.5"/></svg>',
  };
  const iconCache = new Map();
  function icon(name) {
    let tpl = iconCache.get(name);
    if (!tpl) {
      tpl = document.createElement('template');
      tpl.innerHTML = ICONS[name]; // static markup only
      iconCache.set(name, tpl);
    }
    return tpl.content.firstChild.cloneNode(true);
  }

  // ---------------------------------------------------------------- formatting

  function fmtMem(bytes) {
    const b = Number(bytes) || 0;
    const mb = b / 1048576;
    if (mb >= 1024) return (mb / 1024).toFixed(1) + ' GB';
    if (mb >= 10) return Math.round(mb) + ' MB';
    if (b === 0) return '0 MB';
    return mb.toFixed(1) + ' MB';
  }
  function fmtBytes(bytes) {
    const b = Number(bytes) || 0;
    if (b < 1024) return b + ' B';
    if (b < 1048576) return (b / 1024).toFixed(1) + ' KiB';
    if (b < 1073741824) return (b / 1048576).toFixed(1) + ' MiB';
    return (b / 1073741824).toFixed(2) + ' GiB';
  }
  function fmtCpu(c) {
    return (Number(c) || 0).toFixed(1) + '%';
  }
  function fmtRuntime(sec) {
    const s = Math.max(0, Math.floor(Number(sec) || 0));
    if (s < 60) return '<1m';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm';
    const hr = Math.floor(m / 60);
    if (hr < 24) return m % 60 ? `${hr}h ${m % 60}m` : `${hr}h`;
    const d = Math.floor(hr / 24);
    return hr % 24 ? `${d}d ${hr % 24}h` : `${d}d`;
  }
  // parseTime reads an RFC 3339 time; Go's zero time (year 1) means unset.
  function parseTime(v) {
    if (!v) return null;
    const t = typeof v === 'number' ? v : Date.parse(v);
    if (!Number.isFinite(t) || t <= 0) return null;
    return new Date(t);
  }
  function ago(date) {
    if (!date) return '';
    const s = Math.round((Date.now() - date.getTime()) / 1000);
    if (s < 5) return 'just now';
    if (s < 60) return s + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  }
  function fmtDateTime(date) {
    if (!date) return '–';
    return date.toLocaleString(undefined, {
      year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
  }
  function fmtClock(date) {
    if (!date) return '';
    const today = new Date();
    if (date.toDateString() === today.toDateString()) {
      return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    }
    return date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ' ' +
      date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  }
  function dirLabel(dir) {
    if (!dir) return '(no directory)';
    const parts = dir.split(/[\\/]+/).filter(Boolean);
    if (parts.length === 0) return dir;
    return parts.slice(-2).join('/');
  }
  function fmtExit(le) {
    if (!le) return '–';
    let s;
    if (le.status_unknown) s = 'exit status unknown';
    else if (le.signal) s = 'signal ' + le.signal;
    else if (le.code !== undefined && le.code !== null) s = 'code ' + le.code;
    else s = 'exited';
    const at = parseTime(le.at);
    return at ? `${s} · ${ago(at)}` : s;
  }
  function statusOf(p) {
    return STATUS_LABEL[p.status] ? p.status : 'unknown';
  }
  // statusLabel names a process that ended on its own with how it ended
  // ("Exited 1", "Killed: SIGKILL"), unlike a stop.
  function statusLabel(p) {
    const st = statusOf(p);
    const le = p.last_exit;
    if (st === 'exited' && le && !le.status_unknown && le.code !== undefined && le.code !== null) return `Exited ${le.code}`;
    if (st === 'killed' && le && le.signal) return `Killed: ${le.signal}`;
    return STATUS_LABEL[st];
  }

  // normalize guards against missing or oddly typed fields from the server.
  function normalize(raw) {
    const p = Object.assign({}, raw);
    p.name = String(raw.name ?? '');
    p.command = raw.command == null ? '' : String(raw.command);
    p.directory = raw.directory == null ? '' : String(raw.directory);
    p.group = raw.group == null ? '' : String(raw.group);
    p.status_detail = raw.status_detail == null ? '' : String(raw.status_detail);
    p.ports = Array.isArray(raw.ports) ? raw.ports.filter((x) => Number.isFinite(Number(x))).map(Number) : [];
    p.cpu_history = Array.isArray(raw.cpu_history) ? raw.cpu_history : [];
    p.memory_history = Array.isArray(raw.memory_history) ? raw.memory_history : [];
    p.running = !!raw.running;
    p.pid = Number(raw.pid) || 0;
    p.restarts = Number(raw.restarts) || 0;
    return p;
  }

  // ---------------------------------------------------------------- HTTP

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      const err = new Error('cannot reach the bgrun server');
      err.network = true;
      throw err;
    }
    const text = await res.text().catch(() => '');
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (!res.ok) {
      let msg = data && typeof data.error === 'string' && data.error ? data.error : '';
      if (!msg) msg = text.trim().slice(0, 300) || `HTTP ${res.status} ${res.statusText}`.trim();
      const err = new Error(msg);
      err.status = res.status;
      throw err;
    }
    if (data && typeof data === 'object' && !Array.isArray(data) && data.ok === false) {
      throw new Error(data.error || 'the server reported a failure');
    }
    return data;
  }

  // ---------------------------------------------------------------- toasts

  const toastsEl = $('#toasts');
  function toast(message, kind = 'success') {
    const el = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', { text: message }));
    toastsEl.append(el);
    while (toastsEl.children.length > 5) toastsEl.firstChild.remove();
    const ttl = kind === 'error' ? 9000 : 4000;
    let timer = setTimeout(dismiss, ttl);
    function dismiss() {
      clearTimeout(timer);
      el.classList.add('hide');
      setTimeout(() => el.remove(), 220);
    }
    el.addEventListener('click', dismiss);
    el.addEventListener('mouseenter', () => clearTimeout(timer));
    el.addEventListener('mouseleave', () => { timer = setTimeout(dismiss, 2000); });
    return el;
  }

  // ---------------------------------------------------------------- state

  const state = {
    procs: [],
    byName: new Map(),
    receivedAt: performance.now(),
    haveData: false,
    sseSeen: false,
    query: '',
    group: lsGet(LS_GROUP, '') || '',
    collapsed: new Set(lsGet(LS_COLLAPSED, [])),
    focused: null,
    drawerName: null,
    busy: new Set(),
    visibleNames: [],
  };

  const els = {
    tbody: $('#proc-table tbody'),
    cards: $('#proc-cards'),
    tableWrap: $('.table-wrap'),
    empty: $('#empty'),
    noMatch: $('#no-match'),
    loading: $('#loading'),
    search: $('#search'),
    searchCount: $('#search-count'),
    groupFilter: $('#group-filter'),
    conn: $('#conn-status'),
    statTotal: $('#stat-total'),
    statRunning: $('#stat-running'),
    statStopped: $('#stat-stopped'),
    statFailed: $('#stat-failed'),
    statMemory: $('#stat-memory'),
    statCpu: $('#stat-cpu'),
    drawer: $('#drawer'),
    modal: $('#modal'),
    form: $('#new-form'),
  };

  const phoneQuery = window.matchMedia('(max-width: 768px)');

  // ---------------------------------------------------------------- rows & cards

  // entries: name -> { row, card, refs..., last: {...} }
  const entries = new Map();
  // groups: group or directory (bucketOf) -> { row, card, refs }
  const groupEls = new Map();

  function actionButtons() {
    const mk = (cls, act, iconName, label, title) => {
      const b = h('button', { type: 'button', class: `act ${cls}`, 'data-act': act, title, 'aria-label': title });
      b.append(icon(iconName), h('span', { class: 'lbl', text: label }));
      return b;
    };
    const toggle = mk('act-stop', 'stop', 'stop', 'Stop', 'Stop');
    const restart = mk('act-restart', 'restart', 'restart', 'Restart', 'Restart');
    const guard = mk('act-guard', 'guard', 'guard', 'Guard', 'Guard: restart on crash');
    const del = mk('act-delete', 'delete', 'delete', 'Delete', 'Delete');
    const wrap = h('div', { class: 'acts' }, toggle, restart, guard, del);
    return { wrap, toggle, restart, guard, del };
  }

  function nameParts() {
    const name = h('span', { class: 'pname' });
    const guard = h('span', { class: 'flag guard', title: 'Guarded: restarted when it crashes', hidden: true });
    guard.append(icon('guard'));
    const watch = h('span', { class: 'flag watch', title: 'Watched: restarted when files change', hidden: true });
    watch.append(icon('watch'));
    const docker = h('span', { class: 'flag docker', title: 'Docker container', text: 'docker', hidden: true });
    const restarts = h('span', { class: 'restarts', hidden: true });
    const wrap = h('div', { class: 'name-wrap' }, name, guard, watch, docker, restarts);
    return { wrap, name, guard, watch, docker, restarts };
  }

  function makeSpark(kind) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', `spark ${kind}`);
    svg.setAttribute('viewBox', `0 0 ${SPARK_W} ${SPARK_H}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('aria-hidden', 'true');
    const area = document.createElementNS(ns, 'path');
    const line = document.createElementNS(ns, 'polyline');
    svg.append(area, line);
    return { svg, area, line, key: '' };
  }

  // updateSpark draws values oldest-first. CPU is scaled from zero; memory
  // (relative) is scaled around its own range so that growth shows as a slope
  // instead of a flat bar at the top.
  function updateSpark(sp, values, floor, relative) {
    const n = values.length;
    let key = '';
    let areaD = '';
    if (n >= 2) {
      let max = 0;
      let min = Infinity;
      for (let i = 0; i < n; i++) {
        const v = Math.max(0, Number(values[i]) || 0);
        if (v > max) max = v;
        if (v < min) min = v;
      }
      let lo = 0;
      let hi = Math.max(max, floor);
      if (relative) {
        const padv = Math.max((max - min) * 0.15, max * 0.02, floor);
        lo = Math.max(0, min - padv);
        hi = max + padv;
      }
      const range = hi - lo || 1;
      const step = SPARK_W / (n - 1);
      const pad = 1.5;
      const span = SPARK_H - 2 * pad;
      const pts = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = Math.max(0, Number(values[i]) || 0);
        pts[i] = (i * step).toFixed(1) + ',' + (SPARK_H - pad - ((v - lo) / range) * span).toFixed(1);
      }
      key = pts.join(' ');
      if (key === sp.key) return;
      areaD = `M0,${SPARK_H} L${pts.join(' L')} L${SPARK_W},${SPARK_H} Z`;
    }
    if (key === sp.key) return;
    sp.key = key;
    sp.line.setAttribute('points', key);
    if (areaD) sp.area.setAttribute('d', areaD);
    else sp.area.removeAttribute('d');
  }

  // Volatile metrics (CPU, memory, runtime, sparklines) change on every
  // message for every process; relaying out hundreds of cells each second is
  // what makes a big table sluggish. Rows and cards far outside the viewport
  // only mark themselves dirty and catch up when they scroll near. Everything
  // else (name, status, pid, ports, buttons) is always kept current.
  function updateRowMetrics(e, p) {
    e.rowDirty = false;
    setText(e.cpuVal, p.running ? fmtCpu(p.cpu) : '–');
    setText(e.memVal, p.running ? fmtMem(p.memory) : '–');
    setText(e.rtBox, p.running ? fmtRuntime(uptimeNow(p)) : '–');
    e.tdCpu.classList.toggle('dim', !p.running);
    e.tdMem.classList.toggle('dim', !p.running);
    updateSpark(e.cpuSpark, p.cpu_history, 1);
    updateSpark(e.memSpark, p.memory_history, 1048576, true);
  }
  function updateCardMetrics(e, p) {
    e.cardDirty = false;
    setText(e.cCpu, p.running ? fmtCpu(p.cpu) : '–');
    setText(e.cMem, p.running ? fmtMem(p.memory) : '–');
    setText(e.cRun, p.running ? fmtRuntime(uptimeNow(p)) : '–');
  }

  const viewEntry = new WeakMap();
  const viewObserver = 'IntersectionObserver' in window ? new IntersectionObserver((list) => {
    for (const en of list) {
      const e = viewEntry.get(en.target);
      if (!e) continue;
      const p = state.byName.get(e.name);
      if (en.target === e.row) {
        e.rowInView = en.isIntersecting;
        if (e.rowInView && e.rowDirty && p) updateRowMetrics(e, p);
      } else {
        e.cardInView = en.isIntersecting;
        if (e.cardInView && e.cardDirty && p) updateCardMetrics(e, p);
      }
    }
  }, { rootMargin: '400px 0px' }) : null;

  function createEntry(p) {
    // Until the observer reports, a new row counts as visible: its first
    // render fills every cell even where IntersectionObserver is slow.
    const e = { name: p.name, last: {}, rowInView: true, cardInView: true, rowDirty: false, cardDirty: false };

    // Table row.
    const row = h('tr', { class: 'proc-row', 'data-name': p.name });
    e.n = nameParts();
    const tdName = h('td', { class: 'name-cell' }, e.n.wrap);
    e.badge = h('span', { class: 'badge' });
    e.tdStatus = h('td', { class: 'status' }, e.badge);
    e.pidBox = h('span', { class: 'cell-box' });
    e.tdPid = h('td', { class: 'pid num mono' }, e.pidBox);
    e.tdPorts = h('td', { class: 'ports' });
    e.cpuVal = h('span', { class: 'val' });
    e.cpuSpark = makeSpark('cpu');
    e.tdCpu = h('td', { class: 'cpu' }, h('div', { class: 'metric' }, e.cpuVal, e.cpuSpark.svg));
    e.memVal = h('span', { class: 'val' });
    e.memSpark = makeSpark('mem');
    e.tdMem = h('td', { class: 'mem' }, h('div', { class: 'metric' }, e.memVal, e.memSpark.svg));
    e.rtBox = h('span', { class: 'cell-box' });
    e.tdRuntime = h('td', { class: 'runtime mono' }, e.rtBox);
    e.tdCmd = h('td', { class: 'cmd' });
    e.acts = actionButtons();
    const tdActs = h('td', { class: 'actions' }, e.acts.wrap);
    row.append(tdName, e.tdStatus, e.tdPid, e.tdPorts, e.tdCpu, e.tdMem, e.tdRuntime, e.tdCmd, tdActs);
    e.row = row;

    // Card (phone layout).
    const card = h('div', { class: 'proc-card', 'data-name': p.name });
    e.cn = nameParts();
    e.cBadge = h('span', { class: 'badge status' });
    const meta = (label) => {
      const v = h('span', { class: 'v' });
      return [h('div', null, h('span', { class: 'k', text: label }), v), v];
    };
    const [mPid, cPid] = meta('PID');
    const [mPorts, cPorts] = meta('Ports');
    const [mRun, cRun] = meta('Runtime');
    const [mCpu, cCpu] = meta('CPU');
    const [mMem, cMem] = meta('Memory');
    const [mGroup, cGroup] = meta('Group');
    Object.assign(e, { cPid, cPorts, cRun, cCpu, cMem, cGroup });
    e.cCmd = h('div', { class: 'card-cmd' });
    e.cActs = actionButtons();
    card.append(
      h('div', { class: 'card-top' }, e.cn.wrap, e.cBadge),
      e.cCmd,
      h('div', { class: 'card-meta' }, mPid, mPorts, mRun, mCpu, mMem, mGroup),
      e.cActs.wrap,
    );
    e.card = card;
    if (viewObserver) {
      viewEntry.set(row, e);
      viewEntry.set(card, e);
      viewObserver.observe(row);
      viewObserver.observe(card);
    }
    return e;
  }

  function portLinks(container, ports) {
    container.replaceChildren();
    if (!ports.length) {
      container.append(h('span', { class: 'muted', text: '–' }));
      return;
    }
    const host = location.hostname || 'localhost';
    for (const port of ports) {
      container.append(h('a', {
        href: `http://${host}:${port}/`,
        target: '_blank',
        rel: 'noopener noreferrer',
        title: `Open ${host}:${port} in a new tab`,
        text: String(port),
      }));
      container.append(' ');
    }
    if (container.lastChild && container.lastChild.nodeType === 3) container.lastChild.remove();
  }

  function uptimeNow(p) {
    if (!p.running) return 0;
    const base = Number(p.uptime_seconds) || 0;
    return base + (performance.now() - state.receivedAt) / 1000;
  }

  function updateNameParts(n, p) {
    setText(n.name, p.name);
    setAttr(n.name, 'title', p.name);
    n.guard.hidden = !p.guarded;
    n.watch.hidden = !p.watched;
    n.docker.hidden = !p.docker;
    n.restarts.hidden = !(p.restarts > 0);
    if (p.restarts > 0) {
      setText(n.restarts, '↻' + p.restarts);
      setAttr(n.restarts, 'title', `${p.restarts} restart${p.restarts === 1 ? '' : 's'}`);
    }
  }

  function updateButtons(a, p, busy) {
    const act = p.running ? 'stop' : 'start';
    if (a.toggle.dataset.act !== act) {
      a.toggle.dataset.act = act;
      a.toggle.className = `act act-${act}`;
      const label = act === 'stop' ? 'Stop' : 'Start';
      a.toggle.replaceChildren(icon(act), h('span', { class: 'lbl', text: label }));
      a.toggle.title = label;
      a.toggle.setAttribute('aria-label', label);
    }
    a.guard.classList.toggle('on', !!p.guarded);
    setAttr(a.guard, 'aria-pressed', p.guarded ? 'true' : 'false');
    const gt = p.guarded ? 'Guard is on: click to turn off' : 'Guard: restart on crash';
    if (a.guard.title !== gt) { a.guard.title = gt; a.guard.setAttribute('aria-label', gt); }
    setText(a.guard.lastChild, p.guarded ? 'Unguard' : 'Guard');
    for (const b of [a.toggle, a.restart, a.guard, a.del]) if (b.disabled !== busy) b.disabled = busy;
  }

  function updateEntry(e, p) {
    const last = e.last;
    const st = statusOf(p);
    const busy = state.busy.has(p.name);
    const label = statusLabel(p);

    updateNameParts(e.n, p);
    updateNameParts(e.cn, p);

    if (last.st !== st || last.detail !== p.status_detail || last.label !== label) {
      setClass(e.badge, `badge ${st}`);
      setText(e.badge, label);
      setAttr(e.badge, 'title', p.status_detail);
      setAttr(e.tdStatus, 'title', p.status_detail);
      setClass(e.cBadge, `badge status ${st}`);
      setText(e.cBadge, label);
      setAttr(e.cBadge, 'title', p.status_detail);
      last.st = st;
      last.detail = p.status_detail;
      last.label = label;
    }

    const pid = p.pid > 0 ? String(p.pid) : '–';
    setText(e.pidBox, pid);
    setText(e.cPid, pid);
    e.tdPid.classList.toggle('muted', !p.running);

    const portsKey = p.ports.join(',');
    if (last.ports !== portsKey) {
      portLinks(e.tdPorts, p.ports);
      portLinks(e.cPorts, p.ports);
      last.ports = portsKey;
    }

    if (e.rowInView || !viewObserver) updateRowMetrics(e, p);
    else e.rowDirty = true;
    if (e.cardInView || !viewObserver) updateCardMetrics(e, p);
    else e.cardDirty = true;

    if (last.started !== p.started_at) {
      const d = parseTime(p.started_at);
      const t = d ? 'Started ' + fmtDateTime(d) : '';
      setAttr(e.tdRuntime, 'title', t);
      last.started = p.started_at;
    }

    if (last.cmd !== p.command) {
      setText(e.tdCmd, p.command);
      setAttr(e.tdCmd, 'title', p.command);
      setText(e.cCmd, p.command);
      setAttr(e.cCmd, 'title', p.command);
      last.cmd = p.command;
    }
    setText(e.cGroup, p.group || '–');

    updateButtons(e.acts, p, busy);
    updateButtons(e.cActs, p, busy);

    const focused = state.focused === p.name;
    const selected = state.drawerName === p.name;
    e.row.classList.toggle('focused', focused);
    e.row.classList.toggle('selected', selected);
    e.row.classList.toggle('busy', busy);
    e.card.classList.toggle('focused', focused);
    e.card.classList.toggle('selected', selected);
  }

  // bucketOf is the heading a process is listed under: its group (BGR_GROUP;
  // a stack from bgrun.toml is one group) when it has one, else its
  // working directory. Group keys cannot clash with directories, which are
  // absolute paths.
  function bucketOf(p) {
    return p.group ? GROUP_KEY + p.group : p.directory;
  }
  const GROUP_KEY = 'group:';
  function isGroupKey(key) {
    return key.startsWith(GROUP_KEY);
  }
  function bucketLabel(key) {
    return isGroupKey(key) ? key.slice(GROUP_KEY.length) : dirLabel(key);
  }
  function bucketTitle(key) {
    return isGroupKey(key) ? `group ${key.slice(GROUP_KEY.length)}` : key || '(no directory)';
  }

  function createGroup(dir) {
    const g = { dir };
    const kind = () => (isGroupKey(dir) ? h('span', { class: 'group-kind', text: 'group' }) : null);
    g.pathEl = h('span', { class: 'group-path', text: bucketLabel(dir) });
    g.countEl = h('span', { class: 'group-count' });
    const rowHead = h('div', { class: 'group-head' }, icon('chev'), kind(), g.pathEl, g.countEl);
    g.row = h('tr', { class: 'group-row', 'data-dir': dir, title: bucketTitle(dir), 'aria-expanded': 'true' },
      h('td', { colspan: '9' }, rowHead));
    g.cPathEl = h('span', { class: 'group-path', text: bucketLabel(dir) });
    g.cCountEl = h('span', { class: 'group-count' });
    g.card = h('div', { class: 'card-group', 'data-dir': dir, title: bucketTitle(dir), 'aria-expanded': 'true' },
      icon('chev'), kind(), g.cPathEl, g.cCountEl);
    return g;
  }

  function updateGroup(g, running, total, collapsed) {
    for (const [el, rowEl] of [[g.countEl, g.row], [g.cCountEl, g.card]]) {
      const key = `${running}/${total}`;
      if (el.dataset.key !== key) {
        el.dataset.key = key;
        el.replaceChildren(h('span', { class: running ? 'r' : '', text: `${running} running` }), ` · ${total} total`);
      }
      rowEl.classList.toggle('collapsed', collapsed);
      setAttr(rowEl, 'aria-expanded', collapsed ? 'false' : 'true');
    }
  }

  // reconcile makes parent's children exactly `nodes`, in order, moving only
  // what is out of place so that focus, hover and scroll survive updates.
  function reconcile(parent, nodes) {
    let cur = parent.firstChild;
    for (const node of nodes) {
      if (node === cur) {
        cur = cur.nextSibling;
        continue;
      }
      parent.insertBefore(node, cur);
    }
    while (cur) {
      const next = cur.nextSibling;
      parent.removeChild(cur);
      cur = next;
    }
  }

  function matches(p, q) {
    if (state.group && p.group !== state.group) return false;
    if (!q) return true;
    if (p.name.toLowerCase().includes(q)) return true;
    if (p.command.toLowerCase().includes(q)) return true;
    const qp = q.replace(/^:/, '');
    if (qp && /^\d+$/.test(qp) && p.ports.some((port) => String(port).includes(qp))) return true;
    return false;
  }

  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  function render() {
    const procs = state.procs;
    const q = state.query;

    // Drop entries for processes that are gone.
    for (const [name, e] of entries) {
      if (state.byName.has(name)) continue;
      if (viewObserver) {
        viewObserver.unobserve(e.row);
        viewObserver.unobserve(e.card);
      }
      entries.delete(name);
    }

    // Bucket by group (a stack), else by directory; groups come first.
    const byDir = new Map();
    let shown = 0;
    for (const p of procs) {
      if (!matches(p, q)) continue;
      shown++;
      const key = bucketOf(p);
      let list = byDir.get(key);
      if (!list) byDir.set(key, (list = []));
      list.push(p);
    }
    const dirs = [...byDir.keys()].sort(
      (a, b) => isGroupKey(b) - isGroupKey(a) || collator.compare(bucketLabel(a), bucketLabel(b)) || collator.compare(a, b));

    const rowNodes = [];
    const cardNodes = [];
    const visible = [];
    const searching = q !== '';
    for (const dir of dirs) {
      const list = byDir.get(dir).sort((a, b) => collator.compare(a.name, b.name));
      let g = groupEls.get(dir);
      if (!g) groupEls.set(dir, (g = createGroup(dir)));
      const collapsed = state.collapsed.has(dir) && !searching;
      let running = 0;
      for (const p of list) if (p.running) running++;
      updateGroup(g, running, list.length, collapsed);
      rowNodes.push(g.row);
      cardNodes.push(g.card);
      for (const p of list) {
        let e = entries.get(p.name);
        if (!e) entries.set(p.name, (e = createEntry(p)));
        updateEntry(e, p);
        if (!collapsed) {
          rowNodes.push(e.row);
          cardNodes.push(e.card);
          visible.push(p.name);
        }
      }
    }
    for (const dir of groupEls.keys()) if (!byDir.has(dir)) groupEls.delete(dir);

    reconcile(els.tbody, rowNodes);
    reconcile(els.cards, cardNodes);
    state.visibleNames = visible;

    // Empty states.
    els.loading.hidden = state.haveData;
    els.empty.hidden = !state.haveData || procs.length !== 0;
    els.noMatch.hidden = !state.haveData || procs.length === 0 || shown !== 0;
    els.tableWrap.classList.toggle('is-empty', procs.length === 0 || shown === 0);

    // Search badge.
    const filtering = q !== '' || state.group !== '';
    els.searchCount.hidden = !filtering;
    setText(els.searchCount, `${shown}/${procs.length}`);

    renderStats();
    renderGroupFilter();
    updateDrawer();
  }

  function renderStats() {
    let running = 0;
    let failed = 0;
    let mem = 0;
    let cpu = 0;
    for (const p of state.procs) {
      if (p.running) {
        running++;
        mem += Number(p.memory) || 0;
        cpu += Number(p.cpu) || 0;
      }
      if (['failed', 'errored', 'killed'].includes(p.status) ||
        (p.status === 'exited' && p.last_exit && p.last_exit.code !== 0)) failed++;
    }
    setText(els.statTotal, state.procs.length);
    setText(els.statRunning, running);
    setText(els.statStopped, state.procs.length - running);
    setText(els.statFailed, failed ? `${failed} failed` : '');
    setText(els.statMemory, fmtMem(mem));
    setText(els.statCpu, running ? `${cpu.toFixed(1)}% CPU` : '');
  }

  let groupKey = null;
  function renderGroupFilter() {
    const groups = [...new Set(state.procs.map((p) => p.group).filter(Boolean))].sort(collator.compare);
    if (state.group && !groups.includes(state.group)) groups.push(state.group);
    const key = groups.join('\u0000');
    if (key === groupKey) return;
    groupKey = key;
    const sel = els.groupFilter;
    const opts = [h('option', { value: '', text: 'All groups' })];
    for (const g of groups) opts.push(h('option', { value: g, text: g }));
    sel.replaceChildren(...opts);
    sel.value = state.group;
  }

  function applyProcs(list) {
    const procs = [];
    const byName = new Map();
    for (const raw of list) {
      if (!raw || typeof raw !== 'object') continue;
      const p = normalize(raw);
      if (!p.name || byName.has(p.name)) continue;
      procs.push(p);
      byName.set(p.name, p);
    }
    state.procs = procs;
    state.byName = byName;
    state.receivedAt = performance.now();
    state.haveData = true;
    scheduleRender();
  }

  // ---------------------------------------------------------------- actions

  function setBusy(name, on) {
    if (on) state.busy.add(name);
    else state.busy.delete(name);
    const e = entries.get(name);
    const p = state.byName.get(name);
    if (e && p) updateEntry(e, p);
    if (state.drawerName === name) updateDrawer();
  }

  async function doAction(name, act) {
    if (state.busy.has(name)) return;
    const enc = encodeURIComponent(name);
    const p = state.byName.get(name);
    let method = 'POST';
    let path;
    let body;
    let verb;
    switch (act) {
      case 'stop':
        path = `/api/stop/${enc}`; verb = 'stop';
        break;
      case 'start':
        path = `/api/restart/${enc}`; verb = 'start';
        break;
      case 'restart':
        path = `/api/restart/${enc}`; verb = 'restart';
        break;
      case 'guard':
        path = '/api/guard'; body = { name, enabled: !(p && p.guarded) };
        verb = body.enabled ? 'turn on guard for' : 'turn off guard for';
        break;
      case 'delete':
        if (!window.confirm(`Delete "${name}"?\n\nThis stops the process and removes its record.`)) return;
        method = 'DELETE'; path = `/api/processes/${enc}`; verb = 'delete';
        break;
      default:
        return;
    }
    setBusy(name, true);
    try {
      const res = await api(method, path, body);
      switch (act) {
        case 'stop': toast(`Stopped "${name}"`); break;
        case 'start': toast(`Started "${name}"`); break;
        case 'restart': toast(`Restarted "${name}"`); break;
        case 'guard': {
          const on = res && typeof res.guarded === 'boolean' ? res.guarded : body.enabled;
          const cur = state.byName.get(name);
          if (cur) cur.guarded = on;
          toast(on ? `Guard on for "${name}"` : `Guard off for "${name}"`);
          break;
        }
        case 'delete': {
          toast(`Deleted "${name}"`);
          state.procs = state.procs.filter((x) => x.name !== name);
          state.byName.delete(name);
          if (state.drawerName === name) closeDrawer();
          if (state.focused === name) state.focused = null;
          break;
        }
      }
      if (state.drawerName === name) scheduleHistory(300);
    } catch (e) {
      toast(`Could not ${verb} "${name}": ${e.message}`, 'error');
    } finally {
      setBusy(name, false);
      scheduleRender();
    }
  }

  function toggleGroup(dir) {
    if (state.collapsed.has(dir)) state.collapsed.delete(dir);
    else state.collapsed.add(dir);
    lsSet(LS_COLLAPSED, [...state.collapsed]);
    render();
  }

  function onListClick(ev) {
    const btn = ev.target.closest('button[data-act]');
    if (btn) {
      const holder = btn.closest('[data-name]');
      if (holder) doAction(holder.dataset.name, btn.dataset.act);
      return;
    }
    if (ev.target.closest('a')) return;
    const g = ev.target.closest('[data-dir]');
    if (g) {
      toggleGroup(g.dataset.dir);
      return;
    }
    const item = ev.target.closest('[data-name]');
    if (!item) return;
    const sel = window.getSelection && window.getSelection();
    if (sel && !sel.isCollapsed && item.contains(sel.anchorNode)) return; // the user is selecting text
    state.focused = item.dataset.name;
    openDrawer(item.dataset.name);
  }
  els.tbody.addEventListener('click', onListClick);
  els.cards.addEventListener('click', onListClick);

  // ---------------------------------------------------------------- keyboard focus

  function moveFocus(delta) {
    const names = state.visibleNames;
    if (!names.length) return;
    let i = names.indexOf(state.focused);
    if (i < 0) i = delta > 0 ? 0 : names.length - 1;
    else i = Math.min(names.length - 1, Math.max(0, i + delta));
    state.focused = names[i];
    render();
    const e = entries.get(state.focused);
    if (e) {
      const el = phoneQuery.matches ? e.card : e.row;
      el.scrollIntoView({ block: 'nearest' });
      const top = el.getBoundingClientRect().top;
      const header = phoneQuery.matches ? 110 : 90; // sticky top bar + table header
      if (top < header) window.scrollBy(0, top - header);
    }
  }

  // ---------------------------------------------------------------- drawer

  const dr = {
    title: $('#drawer-title'),
    status: $('#drawer-status'),
    gone: $('#drawer-gone'),
    info: $('#drawer-info'),
    toggle: $('#drawer .d-toggle'),
    restart: $('#drawer .d-restart'),
    guard: $('#drawer .d-guard'),
    del: $('#drawer .d-delete'),
    close: $('#drawer-close'),
    tabs: [...document.querySelectorAll('#drawer .tab')],
    logSearch: $('#log-search'),
    logCount: $('#log-count'),
    follow: $('#log-follow'),
    wrap: $('#log-wrap'),
    reload: $('#log-reload'),
    logMeta: $('#log-meta'),
    logView: $('#log-view'),
    logLines: $('#log-lines'),
    logEmpty: $('#log-empty'),
    history: $('#history-list'),
    fields: {},
    sig: '',
  };

  // Info grid: fixed set of fields, created once, updated in place.
  const INFO_FIELDS = [
    ['status', 'Status'], ['pid', 'PID'],
    ['ports', 'Ports'], ['group', 'Group'],
    ['started', 'Started'], ['runtime', 'Runtime'],
    ['restarts', 'Restarts'], ['exit', 'Last exit'],
    ['cpu', 'CPU'], ['memory', 'Memory'],
    ['guard', 'Guard'], ['watch', 'Watch'],
    ['directory', 'Directory', true], ['command', 'Command', true],
  ];
  for (const [key, label, wide] of INFO_FIELDS) {
    const dd = h('dd', { class: wide ? 'wide' : '' });
    if (key === 'directory' || key === 'command' || key === 'pid') dd.classList.add('mono');
    dr.info.append(h('dt', { text: label }), dd);
    dr.fields[key] = dd;
  }

  dr.follow.checked = lsGet(LS_FOLLOW, true) !== false;
  dr.wrap.checked = lsGet(LS_WRAP, true) !== false;
  dr.logView.classList.toggle('wrap', dr.wrap.checked);

  function openDrawer(name) {
    const switching = state.drawerName !== name;
    state.drawerName = name;
    els.drawer.classList.add('open');
    els.drawer.setAttribute('aria-hidden', 'false');
    if (switching) {
      dr.sig = '';
      dr.logSearch.value = '';
      log.query = '';
      dr.history.replaceChildren();
      updateDrawer();
      loadLog();
      loadHistory();
    }
    render();
  }

  function closeDrawer() {
    if (!state.drawerName) return;
    state.drawerName = null;
    log.gen++;
    clearTimeout(log.timer);
    clearTimeout(historyTimer);
    els.drawer.classList.remove('open');
    els.drawer.setAttribute('aria-hidden', 'true');
    if (els.drawer.contains(document.activeElement)) document.activeElement.blur();
    render();
  }

  function updateDrawer() {
    const name = state.drawerName;
    if (!name) return;
    const p = state.byName.get(name);
    setText(dr.title, name);
    setAttr(dr.title, 'title', name);
    dr.gone.hidden = !!p || !state.haveData;
    const busy = state.busy.has(name);
    for (const b of [dr.toggle, dr.restart, dr.guard, dr.del]) if (b.disabled !== (busy || !p)) b.disabled = busy || !p;
    if (!p) {
      setClass(dr.status, 'badge unknown');
      setText(dr.status, 'Gone');
      return;
    }
    const st = statusOf(p);
    setClass(dr.status, `badge ${st}`);
    setText(dr.status, statusLabel(p));
    setAttr(dr.status, 'title', p.status_detail);

    setText(dr.toggle, p.running ? 'Stop' : 'Start');
    setAttr(dr.toggle, 'data-dact', p.running ? 'stop' : 'start');
    setText(dr.guard, p.guarded ? 'Guard on' : 'Guard off');
    dr.guard.classList.toggle('on', !!p.guarded);
    setAttr(dr.guard, 'aria-pressed', p.guarded ? 'true' : 'false');

    const f = dr.fields;
    setText(f.status, STATUS_LABEL[st] + (p.status_detail ? ` — ${p.status_detail}` : ''));
    setText(f.pid, p.pid > 0 ? p.pid : '–');
    const portsKey = p.ports.join(',');
    if (f.ports.dataset.key !== portsKey || !f.ports.firstChild) {
      f.ports.dataset.key = portsKey;
      portLinks(f.ports, p.ports);
    }
    setText(f.group, p.group || '–');
    const started = parseTime(p.started_at);
    setText(f.started, started ? `${fmtDateTime(started)} (${ago(started)})` : '–');
    setText(f.runtime, p.running ? fmtRuntime(uptimeNow(p)) : '–');
    setText(f.restarts, p.restarts);
    setText(f.exit, fmtExit(p.last_exit));
    setText(f.cpu, p.running ? fmtCpu(p.cpu) : '–');
    setText(f.memory, p.running ? fmtMem(p.memory) : '–');
    let guardText = p.guarded ? 'on — restarted when it crashes' : 'off';
    if (p.gave_up) guardText += ' · gave up restarting';
    else if (p.status === 'restarting' && p.status_detail) guardText += ` · ${p.status_detail}`;
    setText(f.guard, guardText);
    setText(f.watch, p.watched ? 'on — restarted when files change' : 'off');
    setText(f.directory, p.directory || '–');
    setText(f.command, p.command || '–');

    // Refresh the history list when something history-worthy changed.
    const sig = [p.pid, p.status, p.restarts, p.guarded, p.watched, p.started_at, p.gave_up,
      p.last_exit ? p.last_exit.at : ''].join('|');
    if (dr.sig && dr.sig !== sig) scheduleHistory(500);
    dr.sig = sig;
  }

  els.drawer.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-dact]');
    if (!b || !state.drawerName) return;
    const map = { stop: 'stop', start: 'start', toggle: 'stop', restart: 'restart', guard: 'guard', delete: 'delete' };
    doAction(state.drawerName, map[b.dataset.dact]);
  });
  dr.close.addEventListener('click', closeDrawer);

  // ---------------------------------------------------------------- logs

  const log = {
    gen: 0,
    tab: 'stdout',
    lines: [], // complete lines (strings, without the newline)
    partial: '', // trailing text without a newline yet
    firstNo: 1, // number of lines[0]
    size: 0,
    offset: 0,
    path: '',
    mtime: null,
    error: '',
    query: '',
    timer: 0,
    partialEl: null,
    matched: 0,
  };

  // capLogLines keeps the last MAX_LOG_LINES lines of the open log, numbering
  // on from the lines it drops; it reports whether it dropped any.
  function capLogLines() {
    const drop = log.lines.length - MAX_LOG_LINES;
    if (drop <= 0) return false;
    log.lines.splice(0, drop);
    log.firstNo += drop;
    return true;
  }

  // eslint-disable-next-line no-control-regex
  const ANSI_RE = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
  function stripAnsi(s) {
    return s.indexOf('\x1b') === -1 ? s : s.replace(ANSI_RE, '');
  }

  // appendAnsi renders SGR colours as spans; other escape sequences are dropped.
  function appendAnsi(parent, s) {
    // eslint-disable-next-line no-control-regex
    const re = /\x1b\[([0-9;]*)m/g;
    let cls = { b: false, d: false, i: false, u: false, fg: '' };
    let last = 0;
    const push = (text) => {
      text = stripAnsi(text);
      if (!text) return;
      const c = [];
      if (cls.b) c.push('a-b');
      if (cls.d) c.push('a-d');
      if (cls.i) c.push('a-i');
      if (cls.u) c.push('a-u');
      if (cls.fg) c.push('a-' + cls.fg);
      if (c.length) parent.append(h('span', { class: c.join(' '), text }));
      else parent.append(text);
    };
    let m;
    while ((m = re.exec(s)) !== null) {
      push(s.slice(last, m.index));
      last = re.lastIndex;
      const codes = m[1] === '' ? [0] : m[1].split(';').map(Number);
      for (let i = 0; i < codes.length; i++) {
        const c = codes[i];
        if (c === 0) cls = { b: false, d: false, i: false, u: false, fg: '' };
        else if (c === 1) cls.b = true;
        else if (c === 2) cls.d = true;
        else if (c === 3) cls.i = true;
        else if (c === 4) cls.u = true;
        else if (c === 22) { cls.b = false; cls.d = false; }
        else if (c === 23) cls.i = false;
        else if (c === 24) cls.u = false;
        else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) cls.fg = String(c);
        else if (c === 39) cls.fg = '';
        else if (c === 38 || c === 48) i += codes[i + 1] === 5 ? 2 : 4; // 256-colour / rgb: skip
      }
    }
    push(s.slice(last));
  }

  function appendHighlighted(parent, text, q) {
    const plain = stripAnsi(text);
    const lower = plain.toLowerCase();
    let from = 0;
    let i;
    while (q && (i = lower.indexOf(q, from)) !== -1) {
      if (i > from) parent.append(plain.slice(from, i));
      parent.append(h('mark', { text: plain.slice(i, i + q.length) }));
      from = i + q.length;
    }
    if (from < plain.length) parent.append(plain.slice(from));
  }

  function lineMatches(text, q) {
    return !q || stripAnsi(text).toLowerCase().includes(q);
  }

  // SEP starts a line that withMarks inserted: a separator between two runs
  // of the process, which is not in the log file.
  const SEP = '\u0001';

  // withMarks puts the run separators of an answer (byte offsets into the
  // file; the text starts at byte base) into text, each on a line of its own.
  function withMarks(text, base, marks) {
    if (!Array.isArray(marks) || marks.length === 0) return text;
    const bytes = new TextEncoder().encode(text);
    const dec = new TextDecoder();
    let out = '';
    let last = 0;
    for (const m of marks) {
      const at = Number(m.offset) - base;
      if (!(at >= last && at <= bytes.length)) continue;
      out += dec.decode(bytes.subarray(last, at));
      last = at;
      const open = out ? !out.endsWith('\n') : log.partial !== '';
      out += (open ? '\n' : '') + SEP + String(m.text || '') + '\n';
    }
    return out + dec.decode(bytes.subarray(last));
  }

  function lineEl(no, text, partial) {
    if (text.charAt(0) === SEP) {
      return h('div', { class: 'log-line log-sep' }, h('span', { class: 'ln', text: '' }), h('span', { class: 'lt', text: text.slice(1) }));
    }
    const lt = h('span', { class: 'lt' });
    if (log.query) appendHighlighted(lt, text, log.query);
    else if (text.indexOf('\x1b') !== -1) appendAnsi(lt, text);
    else lt.textContent = text;
    return h('div', { class: partial ? 'log-line partial' : 'log-line' }, h('span', { class: 'ln', text: String(no) }), lt);
  }

  function splitLines(text) {
    const parts = text.split('\n');
    for (let i = 0; i < parts.length; i++) {
      if (parts[i].endsWith('\r')) parts[i] = parts[i].slice(0, -1);
    }
    return parts;
  }

  function totalLines() {
    return log.lines.length + (log.partial ? 1 : 0);
  }

  // atBottom tells whether the log view shows its last line, so that follow
  // keeps sticking to the end without yanking a reader who scrolled up.
  function atBottom() {
    const v = dr.logView;
    return v.scrollHeight - v.scrollTop - v.clientHeight < 40;
  }

  function renderLogAll() {
    const q = log.query;
    const frag = document.createDocumentFragment();
    let matched = 0;
    for (let i = 0; i < log.lines.length; i++) {
      const t = log.lines[i];
      if (!lineMatches(t, q)) continue;
      matched++;
      frag.append(lineEl(log.firstNo + i, t, false));
    }
    log.partialEl = null;
    if (log.partial && lineMatches(log.partial, q)) {
      matched++;
      log.partialEl = lineEl(log.firstNo + log.lines.length, log.partial, true);
      frag.append(log.partialEl);
    }
    log.matched = matched;
    dr.logLines.replaceChildren(frag);
    afterLogRender(true);
  }

  // ingest merges newly read bytes into the line list; a previous partial last
  // line is completed by the first piece of the new text.
  function ingest(text) {
    if (!text) return;
    const stick = atBottom();
    const parts = splitLines(log.partial + text);
    const newPartial = parts.pop();
    const startNo = log.firstNo + log.lines.length;
    if (log.partialEl) {
      log.partialEl.remove();
      log.matched--;
      log.partialEl = null;
    }
    for (const t of parts) log.lines.push(t);
    log.partial = newPartial;

    if (capLogLines()) {
      renderLogAll();
      return;
    }
    const q = log.query;
    const frag = document.createDocumentFragment();
    parts.forEach((t, i) => {
      if (!lineMatches(t, q)) return;
      log.matched++;
      frag.append(lineEl(startNo + i, t, false));
    });
    if (log.partial && lineMatches(log.partial, q)) {
      log.matched++;
      log.partialEl = lineEl(log.firstNo + log.lines.length, log.partial, true);
      frag.append(log.partialEl);
    }
    dr.logLines.append(frag);
    afterLogRender(stick);
  }

  function afterLogRender(stick) {
    const total = totalLines();
    setText(dr.logCount, log.query ? `${log.matched} of ${total} lines` : `${total} line${total === 1 ? '' : 's'}`);
    let emptyText = '';
    if (log.error && total === 0) emptyText = '';
    else if (total === 0) emptyText = log.mtime === null && log.size === 0 ? 'No output yet (the log file does not exist yet).' : 'No output yet.';
    else if (log.matched === 0) emptyText = 'No lines match the search.';
    dr.logEmpty.hidden = !emptyText;
    setText(dr.logEmpty, emptyText);
    renderLogMeta();
    if (stick && dr.follow.checked) dr.logView.scrollTop = dr.logView.scrollHeight;
  }

  function renderLogMeta() {
    const parts = [];
    if (log.path) parts.push(log.path);
    parts.push(fmtBytes(log.size));
    if (log.mtime) parts.push('modified ' + ago(log.mtime));
    if (log.offset > 0 && log.firstNo === 1) parts.push(`showing the last ${fmtBytes(log.size - log.offset)}`);
    const nodes = [parts.join(' · ')];
    if (log.error) nodes.push(h('span', { class: 'err', text: ` · ${log.error}` }));
    dr.logMeta.replaceChildren(...nodes);
    setAttr(dr.logMeta, 'title', log.path);
  }

  function logURL(offset) {
    return `/api/logs/${encodeURIComponent(state.drawerName)}?tab=${log.tab}&offset=${offset}`;
  }

  function resetLog() {
    log.lines = [];
    log.partial = '';
    log.partialEl = null;
    log.firstNo = 1;
    log.size = 0;
    log.offset = 0;
    log.path = '';
    log.mtime = null;
    log.error = '';
    log.matched = 0;
  }

  function takeMeta(r) {
    log.size = Number(r.size) || 0;
    log.path = r.path || r.filePath || log.path;
    log.mtime = parseTime(r.mtime);
  }

  async function loadLog() {
    if (!state.drawerName) return;
    const gen = ++log.gen;
    clearTimeout(log.timer);
    resetLog();
    dr.logLines.replaceChildren();
    dr.logEmpty.hidden = false;
    setText(dr.logEmpty, 'Loading…');
    setText(dr.logCount, '');
    dr.logMeta.replaceChildren();
    try {
      const r = await api('GET', logURL(0));
      if (gen !== log.gen) return;
      if (!r || typeof r !== 'object') throw new Error('unexpected answer from the server');
      takeMeta(r);
      log.offset = Number(r.offset) || 0;
      const text = withMarks(typeof r.text === 'string' ? r.text : '', log.offset, r.marks);
      const parts = splitLines(text);
      log.partial = parts.pop();
      log.lines = parts;
      capLogLines();
      renderLogAll();
      dr.logView.scrollTop = dr.logView.scrollHeight;
    } catch (e) {
      if (gen !== log.gen) return;
      log.error = e.message;
      dr.logEmpty.hidden = false;
      setText(dr.logEmpty, `Could not load the ${log.tab} log: ${e.message}`);
      renderLogMeta();
      toast(`Could not load the ${log.tab} log of "${state.drawerName}": ${e.message}`, 'error');
    }
    if (gen === log.gen) scheduleLogPoll();
  }

  function scheduleLogPoll() {
    clearTimeout(log.timer);
    if (!state.drawerName || !dr.follow.checked) return;
    log.timer = setTimeout(pollLog, LOG_POLL_MS);
  }

  async function pollLog() {
    if (!state.drawerName || !dr.follow.checked) return;
    if (document.hidden) {
      scheduleLogPoll();
      return;
    }
    const gen = log.gen;
    const from = log.size;
    try {
      const r = await api('GET', logURL(from));
      if (gen !== log.gen) return;
      if (!r || typeof r !== 'object') throw new Error('unexpected answer from the server');
      const size = Number(r.size) || 0;
      const offset = Number(r.offset ?? from);
      const text = withMarks(typeof r.text === 'string' ? r.text : '', offset, r.marks);
      if (size < from || offset !== from) {
        // The file was truncated, rotated or replaced: read it afresh.
        loadLog();
        return;
      }
      const hadError = log.error;
      log.error = '';
      takeMeta(r);
      if (text) ingest(text);
      else if (hadError) afterLogRender(false);
      else renderLogMeta();
    } catch (e) {
      if (gen !== log.gen) return;
      log.error = `not updating: ${e.message}`;
      renderLogMeta();
    }
    if (gen === log.gen) scheduleLogPoll();
  }

  function selectTab(tab) {
    if (tab !== 'stdout' && tab !== 'stderr') return;
    for (const b of dr.tabs) {
      const on = b.dataset.tab === tab;
      b.classList.toggle('active', on);
      b.setAttribute('aria-selected', on ? 'true' : 'false');
    }
    if (log.tab === tab) return;
    log.tab = tab;
    loadLog();
  }
  for (const b of dr.tabs) b.addEventListener('click', () => selectTab(b.dataset.tab));

  let logSearchTimer = 0;
  dr.logSearch.addEventListener('input', () => {
    clearTimeout(logSearchTimer);
    logSearchTimer = setTimeout(() => {
      const q = dr.logSearch.value.toLowerCase();
      if (q === log.query) return;
      log.query = q;
      renderLogAll();
    }, 120);
  });
  dr.follow.addEventListener('change', () => {
    lsSet(LS_FOLLOW, dr.follow.checked);
    if (dr.follow.checked) {
      dr.logView.scrollTop = dr.logView.scrollHeight;
      pollLog();
    } else {
      clearTimeout(log.timer);
    }
  });
  dr.wrap.addEventListener('change', () => {
    lsSet(LS_WRAP, dr.wrap.checked);
    dr.logView.classList.toggle('wrap', dr.wrap.checked);
  });
  dr.reload.addEventListener('click', () => loadLog());

  // ---------------------------------------------------------------- history

  let historyTimer = 0;
  let historyGen = 0;
  function scheduleHistory(ms) {
    clearTimeout(historyTimer);
    historyTimer = setTimeout(loadHistory, ms);
  }

  function metaSummary(m) {
    if (m === null || m === undefined) return '';
    if (typeof m !== 'object') return String(m);
    const parts = [];
    for (const [k, v] of Object.entries(m)) {
      if (v === null || v === undefined || v === '') continue;
      parts.push(`${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);
    }
    return parts.join(' ');
  }

  async function loadHistory() {
    const name = state.drawerName;
    if (!name) return;
    const gen = ++historyGen;
    try {
      const rows = await api('GET', `/api/history?name=${encodeURIComponent(name)}&limit=50`);
      if (gen !== historyGen || state.drawerName !== name) return;
      const items = [];
      for (const r of Array.isArray(rows) ? rows.slice(0, 20) : []) {
        const at = parseTime(r.timestamp);
        const ev = String(r.event ?? '');
        const meta = metaSummary(r.metadata);
        items.push(h('li', null,
          h('span', { class: 't', text: fmtClock(at), title: at ? fmtDateTime(at) : '' }),
          h('span', { class: 'ev ' + ev.toLowerCase().replace(/[^a-z0-9_-]/g, ''), text: ev }),
          h('span', { class: 'p', text: r.pid ? `pid ${r.pid}` : '' }),
          h('span', { class: 'm', text: meta, title: meta }),
        ));
      }
      if (!items.length) items.push(h('li', { class: 'none', text: 'No history yet.' }));
      dr.history.replaceChildren(...items);
    } catch (e) {
      if (gen !== historyGen) return;
      dr.history.replaceChildren(h('li', { class: 'none', text: `Could not load history: ${e.message}` }));
    }
  }

  // ---------------------------------------------------------------- new process modal

  const form = els.form;
  const formError = $('#new-error');
  const submitBtn = $('#new-submit');

  function modalOpen() {
    return !els.modal.hidden;
  }

  function openModal() {
    form.reset();
    formError.hidden = true;
    const from = state.byName.get(state.drawerName) || state.byName.get(state.focused);
    form.elements.directory.value = from ? from.directory : '';
    els.modal.hidden = false;
    form.elements.name.focus();
  }
  function closeModal() {
    els.modal.hidden = true;
    if (els.modal.contains(document.activeElement)) document.activeElement.blur();
  }

  function parseEnv(text) {
    const env = {};
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      const key = eq > 0 ? line.slice(0, eq).trim() : '';
      if (!key) throw new Error(`Environment line ${i + 1} is not KEY=VALUE: ${line}`);
      env[key] = line.slice(eq + 1);
    }
    return env;
  }

  function formFail(msg) {
    formError.textContent = msg;
    formError.hidden = false;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    // Required fields are checked by the server, whose message is shown as
    // it is; only the KEY=VALUE format is the page's own business.
    const name = f.name.value.trim();
    const command = f.command.value.trim();
    const directory = f.directory.value.trim();
    let env;
    try {
      env = parseEnv(f.env.value);
    } catch (e) {
      formFail(e.message);
      f.env.focus();
      return;
    }
    formError.hidden = true;
    submitBtn.disabled = true;
    setText(submitBtn, 'Starting…');
    try {
      await api('POST', '/api/start', { name, command, directory, force: f.force.checked, env });
      closeModal();
      toast(`Started "${name}"`);
      state.focused = name;
      scheduleRender();
    } catch (e) {
      formFail(e.message);
      toast(name ? `Could not start "${name}": ${e.message}` : `Could not start: ${e.message}`, 'error');
    } finally {
      submitBtn.disabled = false;
      setText(submitBtn, 'Start');
    }
  });
  $('#new-process').addEventListener('click', openModal);
  $('#modal-close').addEventListener('click', closeModal);
  $('#new-cancel').addEventListener('click', closeModal);
  els.modal.addEventListener('mousedown', (ev) => {
    if (ev.target === els.modal) closeModal();
  });

  // ---------------------------------------------------------------- header controls

  let searchTimer = 0;
  els.search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.query = els.search.value.trim().toLowerCase();
      render();
    }, 100);
  });
  els.groupFilter.addEventListener('change', () => {
    state.group = els.groupFilter.value;
    lsSet(LS_GROUP, state.group);
    render();
  });

  // ---------------------------------------------------------------- keyboard

  function isTyping(t) {
    return !!(t && t.closest && t.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]'));
  }

  document.addEventListener('keydown', (ev) => {
    const t = ev.target;
    if (ev.key === 'Escape') {
      if (modalOpen()) {
        ev.preventDefault();
        closeModal();
        return;
      }
      if (isTyping(t)) {
        if ((t.type === 'search' || t.type === 'text') && t.value) {
          ev.preventDefault();
          t.value = '';
          t.dispatchEvent(new Event('input', { bubbles: true }));
          return;
        }
        t.blur();
      }
      if (state.drawerName) {
        ev.preventDefault();
        closeDrawer();
        return;
      }
      if (state.focused) {
        state.focused = null;
        render();
      }
      return;
    }
    if (isTyping(t) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (modalOpen()) return;
    switch (ev.key) {
      case '/':
        ev.preventDefault();
        els.search.focus();
        els.search.select();
        break;
      case 'j':
      case 'ArrowDown':
        if (ev.key === 'ArrowDown' && els.drawer.contains(t)) return;
        ev.preventDefault();
        moveFocus(1);
        break;
      case 'k':
      case 'ArrowUp':
        if (ev.key === 'ArrowUp' && els.drawer.contains(t)) return;
        ev.preventDefault();
        moveFocus(-1);
        break;
      case 'Enter':
        if (t.closest && t.closest('button, a')) return;
        if (state.focused && state.byName.has(state.focused)) {
          ev.preventDefault();
          openDrawer(state.focused);
        }
        break;
      case 'n':
        ev.preventDefault();
        openModal();
        break;
      default:
    }
  });

  // ---------------------------------------------------------------- live connection

  let es = null;
  let reconnectTimer = 0;
  let watchdogTimer = 0;
  let backoff = 1000;
  let authWarned = false;

  function setConn(live) {
    const text = live ? 'live' : 'reconnecting';
    if (els.conn.textContent !== text) els.conn.textContent = text;
    setClass(els.conn, `conn ${text}`);
    els.conn.title = live ? 'Receiving live updates' : 'Connection to the server lost; retrying';
    document.body.classList.toggle('offline', !live && state.haveData);
  }

  function connect() {
    clearTimeout(reconnectTimer);
    clearTimeout(watchdogTimer);
    if (es) {
      es.onopen = es.onmessage = es.onerror = null;
      es.close();
    }
    const src = new EventSource('/api/events');
    es = src;
    src.onopen = () => {
      if (src !== es) return;
      backoff = 1000;
      clearTimeout(watchdogTimer);
      setConn(true);
    };
    src.onmessage = (ev) => {
      if (src !== es) return;
      let data;
      try { data = JSON.parse(ev.data); } catch (_) { return; }
      if (!Array.isArray(data)) return;
      state.sseSeen = true;
      setConn(true);
      applyProcs(data);
    };
    src.onerror = () => {
      if (src !== es) return;
      setConn(false);
      if (src.readyState === EventSource.CLOSED) {
        scheduleReconnect();
      } else if (!watchdogTimer) {
        // The browser retries by itself; if that keeps failing, start over.
        watchdogTimer = setTimeout(() => {
          watchdogTimer = 0;
          if (src === es && src.readyState !== EventSource.OPEN) connect();
        }, 12000);
      }
    };
    // A connection that neither opens nor fails (a stuck proxy) is retried too.
    watchdogTimer = setTimeout(() => {
      watchdogTimer = 0;
      if (src === es && src.readyState !== EventSource.OPEN) {
        setConn(false);
        connect();
      }
    }, 15000);
  }

  function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    const wait = backoff;
    backoff = Math.min(backoff * 2, 10000);
    reconnectTimer = setTimeout(async () => {
      // Tell a rejected token apart from a server that is merely down.
      try {
        await api('GET', '/api/version');
      } catch (e) {
        if ((e.status === 401 || e.status === 403) && !authWarned) {
          authWarned = true;
          toast(`The server refused this page (${e.message}). Open the link that bgrun --dashboard prints.`, 'error');
        }
      }
      connect();
    }, wait);
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && (!es || es.readyState === EventSource.CLOSED)) connect();
  });
  window.addEventListener('online', () => {
    if (!es || es.readyState !== EventSource.OPEN) connect();
  });

  // ---------------------------------------------------------------- timers & layout

  // Runtime cells advance locally between server messages (no polling).
  setInterval(() => {
    if (state.haveData && !document.hidden) scheduleRender();
    if (state.drawerName && !document.hidden) renderLogMeta();
  }, 15000);

  phoneQuery.addEventListener('change', () => scheduleRender());

  // ---------------------------------------------------------------- start

  (function initVersion() {
    const v = $('#version');
    const text = v.textContent.trim();
    if (/^\d/.test(text)) v.textContent = 'v' + text;
    if (!text) {
      api('GET', '/api/version').then((r) => {
        if (r && r.version) v.textContent = /^\d/.test(r.version) ? 'v' + r.version : String(r.version);
      }).catch(() => {});
    }
  })();

  setConn(false);
  connect();
  // One initial read for a fast first paint; all later updates come over SSE.
  api('GET', '/api/processes').then((list) => {
    if (!state.sseSeen && Array.isArray(list)) applyProcs(list);
  }).catch((e) => {
    if (!state.sseSeen) toast(`Could not load processes: ${e.message}`, 'error');
  });
})();
