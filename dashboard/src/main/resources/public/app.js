// Tagscope dashboard page. Vanilla JS + Chart.js (from the webjar).
//
// Safety: every name that comes from a model or a user (probe ids, model, layer and region
// names, signal-bin labels, class names, image ids) is put into the page with textContent or DOM
// APIs only, never parsed as HTML; images come from the API (/api/probe-image, /api/visualization).
// Chart.js draws its labels on a canvas.
//
// Updates: the server pushes small change events on /api/events (server-sent events); the
// page marks what is stale and re-fetches it at most a few times per second.
'use strict';

(function () {
  const REFRESH_MS = 350; // at most ~3 re-fetches per second
  const COLORS = {
    FUNDAMENTAL: '#2563eb',
    HARMONIC: '#ea580c',
    INTERMODULATION: '#9333ea',
    spectrum: '#64748b',
  };
  const KIND_NAMES = { FUNDAMENTAL: 'fundamental', HARMONIC: 'harmonic', INTERMODULATION: 'IM' };
  // The cheap criteria a frequency-tag ranking has to beat to be worth its probe, in table order.
  const BASELINES = ['mean-activation', 'weight-l1', 'class-selectivity', 'random'];
  const CURVE_COLORS = {
    'mean-activation': '#ea580c',
    'weight-l1': '#16a34a',
    'class-selectivity': '#9333ea',
    random: '#64748b',
  };
  const OTHER_CURVE_COLORS = ['#0891b2', '#db2777', '#ca8a04', '#4b5563', '#7c3aed', '#059669'];
  // One colour per trend line, best filter first.
  const TREND_COLORS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#0891b2', '#db2777', '#ca8a04', '#4b5563'];

  const state = {
    layers: [],
    layerKey: null,       // JSON [model, version, layer] of the selected layer
    importance: null,     // last /api/importance answer
    validation: null,     // last /api/validation answer for the selected layer, null when none
    history: null,        // last /api/history answer for the selected layer, null when none
    compareA: null,       // versions compared side by side
    compareB: null,
    filter: null,         // selected filter index
    filterDetail: null,   // last /api/filter answer for the selected filter, null when none
    probe: null,          // probe whose spectrum is shown
    userPickedProbe: false,
    dirty: {
      probes: true, layers: true, importance: false, spectrum: false, validation: false,
      history: false, alerts: true, compare: false, filter: false,
    },
    timer: null,
    lastRun: 0,
    running: false,
  };

  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ helpers

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }

  // Fixed decimals (fmt(x, 2)), or without digits three significant figures (fmt(x)):
  // amplitudes span decades, so a fixed number of decimals would print them as 0.000.
  function fmt(x, digits) {
    if (x === null || x === undefined || Number.isNaN(x)) return '\u2013';
    const n = Number(x);
    const a = Math.abs(n);
    if (digits !== undefined) return a >= 1e6 ? n.toExponential(2) : n.toFixed(digits);
    if (n === 0) return '0';
    if (a < 1e-4 || a >= 1e6) return n.toExponential(2);
    return n.toPrecision(3);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function layerKey(l) {
    return JSON.stringify([l.model, l.version, l.layer]);
  }

  function selectedLayer() {
    if (!state.layerKey) return null;
    const [model, version, layer] = JSON.parse(state.layerKey);
    return state.layers.find((l) => l.model === model && l.version === version && l.layer === layer) || null;
  }

  // "model @ version", or the model alone for records without a version.
  function modelVersion(model, version) {
    return version ? model + ' @ ' + version : model;
  }

  function sameLayer(a, b) {
    return !!a && !!b && a.model === b.model && a.layer === b.layer && (a.version || '') === (b.version || '');
  }

  // Stimulus time (epoch ms) as the page shows it: local date and time to the second.
  function stimulusTime(ms) {
    return new Date(ms).toLocaleString();
  }

  async function getJson(path, params) {
    const url = params ? path + '?' + new URLSearchParams(params).toString() : path;
    const res = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const err = new Error((body && body.error) || res.statusText);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  // ------------------------------------------------------------------ probes

  function renderProbes(probes) {
    const tbody = $('probes-table').querySelector('tbody');
    clear(tbody);
    $('probes-empty').hidden = probes.length > 0;
    $('probes-table').hidden = probes.length === 0;
    $('probes-count').textContent = probes.length ? probes.length + (probes.length === 1 ? ' probe' : ' probes') : '';
    for (const p of probes) {
      const tr = document.createElement('tr');
      tr.appendChild(el('td', p.id, 'mono nowrap'));
      tr.appendChild(el('td', p.model, 'nowrap'));
      tr.appendChild(el('td', p.layout, 'nowrap'));
      const regions = el('td');
      for (const r of p.regions) {
        const chip = el('span', null, 'region');
        chip.appendChild(el('span', r.name, 'region-name'));
        chip.appendChild(el('span', fmt(r.frequencyHz, 2) + ' Hz', 'region-freq'));
        regions.appendChild(chip);
      }
      tr.appendChild(regions);
      tr.appendChild(el('td', fmt(p.fps, 0), 'num'));
      tr.appendChild(el('td', p.windowFrames + ' fr (' + fmt(p.windowSeconds, 2) + ' s)', 'num'));
      tr.appendChild(el('td', p.hopFrames + ' fr', 'num'));
      const bins = el('td', null, 'bins');
      for (const b of p.signalBins) {
        const chip = el('span', b.label, 'bin-chip kind-' + (b.kind || '').toLowerCase());
        chip.title = (KIND_NAMES[b.kind] || b.kind) + ', ' + fmt(b.frequencyHz, 2) + ' Hz, bin ' + b.bin;
        bins.appendChild(chip);
      }
      tr.appendChild(bins);
      tbody.appendChild(tr);
    }
  }

  // ------------------------------------------------------------------ layers

  function renderLayers(layers) {
    state.layers = layers;
    const select = $('layer-select');
    const keys = layers.map(layerKey);
    if (!state.layerKey || !keys.includes(state.layerKey)) {
      const linked = layerFromHash();
      state.layerKey = keys.includes(linked) ? linked : keys.length ? keys[0] : null;
      state.filter = null;
      state.importance = null;
      state.userPickedProbe = false;
      state.dirty.filter = true;
      state.dirty.importance = state.layerKey !== null;
      state.dirty.validation = true;
      state.dirty.history = true;
      state.history = null;
      state.compareA = state.compareB = null; // defaults again: the selected version as B
    }
    state.dirty.compare = true;
    clear(select);
    // Grouped by model, then version (the server sorts by model, version, layer).
    let group = null;
    let groupKey = null;
    layers.forEach((l, i) => {
      const gk = JSON.stringify([l.model, l.version]);
      if (gk !== groupKey) {
        group = document.createElement('optgroup');
        group.label = modelVersion(l.model, l.version); // a property, never parsed as HTML
        select.appendChild(group);
        groupKey = gk;
      }
      const o = el('option', l.layer + (l.alertOpen ? ' \u26a0' : ''));
      o.value = keys[i];
      o.selected = keys[i] === state.layerKey;
      group.appendChild(o);
    });
    select.disabled = layers.length === 0;
    $('layers-empty').hidden = layers.length > 0;
    layerToHash();
    renderLayerMeta();
    renderProbeChoice();
  }

  // The selected layer lives in the address (#model=..&version=..&layer=..) so a view can be
  // linked; the alerts list links to layers this way.
  function layerHash(model, version, layer) {
    return '#' + new URLSearchParams({ model, version: version || '', layer }).toString();
  }

  function layerFromHash() {
    const h = new URLSearchParams(location.hash.replace(/^#/, ''));
    return h.has('model') && h.has('layer') ? JSON.stringify([h.get('model'), h.get('version') || '', h.get('layer')]) : null;
  }

  function layerToHash() {
    const l = selectedLayer();
    if (l) window.history.replaceState(null, '', layerHash(l.model, l.version, l.layer));
  }

  function renderLayerMeta() {
    const meta = $('layer-meta');
    clear(meta);
    const l = selectedLayer();
    if (!l) return;
    const items = [
      ['model', l.model], ['version', l.version || '\u2013'], ['layer', l.layer], ['filters', l.filters],
      ['windows seen', l.windowsSeen], ['last probe', l.lastProbeId],
      ['updated (stimulus time)', new Date(l.updatedAtMs).toLocaleString()],
    ];
    for (const [k, v] of items) {
      const span = el('span', null, 'meta-item');
      span.appendChild(el('span', k, 'meta-key'));
      span.appendChild(el('span', v, 'meta-val'));
      meta.appendChild(span);
    }
  }

  function renderProbeChoice() {
    const l = selectedLayer();
    const probes = l ? l.probes : [];
    if (!state.userPickedProbe || !probes.includes(state.probe)) {
      const preferred = l && probes.includes(l.lastProbeId) ? l.lastProbeId : probes[0];
      if (preferred !== state.probe) {
        state.probe = preferred === undefined ? null : preferred;
        state.dirty.spectrum = state.filter !== null;
      }
    }
    const select = $('probe-select');
    clear(select);
    for (const p of probes) {
      const o = el('option', p);
      o.value = p;
      o.selected = p === state.probe;
      select.appendChild(o);
    }
    $('probe-select-label').hidden = probes.length < 2;
  }

  // ------------------------------------------------------------------ importance

  let importanceChart = null;

  function topN() {
    const n = parseInt($('top-n').value, 10);
    return Number.isFinite(n) && n > 0 ? n : Infinity;
  }

  function renderImportance(view) {
    state.importance = view;
    const rows = view ? view.filters : [];
    if (state.filter === null && rows.length) {
      state.filter = rows[0].filter;
      state.dirty.spectrum = true;
      state.dirty.filter = true;
    }
    const shown = rows.slice(0, Math.min(rows.length, topN()));
    const labels = shown.map((f) => '#' + f.filter);
    const parts = [
      ['fundamental', 'FUNDAMENTAL', (f) => f.fundamental],
      ['harmonic', 'HARMONIC', (f) => f.harmonic],
      ['intermodulation (IM)', 'INTERMODULATION', (f) => f.intermodulation],
    ];
    const datasets = parts.map(([name, kind, get]) => ({
      label: name,
      data: shown.map(get),
      backgroundColor: shown.map((f) => (f.filter === state.filter ? COLORS[kind] : COLORS[kind] + 'bb')),
      borderColor: shown.map((f) => (f.filter === state.filter ? '#0f172a' : COLORS[kind])),
      borderWidth: shown.map((f) => (f.filter === state.filter ? 2 : 0)),
      stack: 'score',
      maxBarThickness: 56,
    }));
    if (!importanceChart) {
      importanceChart = new Chart($('importance-chart'), {
        type: 'bar',
        data: { labels, datasets },
        options: {
          animation: false,
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          plugins: {
            legend: { display: false },
            tooltip: {
              callbacks: {
                title: (items) => {
                  const f = shownRows()[items[0].dataIndex];
                  return f ? 'filter ' + f.filter + ' \u00b7 rank ' + f.rank : '';
                },
                label: (item) => item.dataset.label + ': ' + fmt(item.raw),
                footer: (items) => {
                  const f = shownRows()[items[0].dataIndex];
                  return f ? ['importance ' + fmt(f.importance, 3), 'score ' + fmt(f.score),
                    'mean SNR ' + fmt(f.meanSnr, 2), 'paper SNR ' + fmt(f.paperSnrDb, 1) + ' dB'] : [];
                },
              },
            },
          },
          scales: {
            x: { stacked: true, ticks: { autoSkip: true, maxRotation: 0 }, title: { display: true, text: 'filter, by rank' } },
            y: { stacked: true, title: { display: true, text: 'score (activation units)' } },
          },
          onClick: (evt, elements) => {
            if (elements.length) {
              const f = shownRows()[elements[0].index];
              if (f) selectFilter(f.filter);
            }
          },
        },
      });
    } else {
      importanceChart.data.labels = labels;
      importanceChart.data.datasets = datasets;
      importanceChart.update('none');
    }
    renderFilterTable(rows);
  }

  function shownRows() {
    const rows = state.importance ? state.importance.filters : [];
    return rows.slice(0, Math.min(rows.length, topN()));
  }

  function renderFilterTable(rows) {
    const tbody = $('filters-table').querySelector('tbody');
    clear(tbody);
    for (const f of rows) {
      const tr = document.createElement('tr');
      tr.dataset.filter = String(f.filter);
      if (f.filter === state.filter) tr.className = 'selected';
      tr.appendChild(el('td', f.rank, 'num'));
      tr.appendChild(el('td', f.filter, 'num mono'));
      const imp = el('td', null, 'num');
      const bar = el('span', null, 'imp-bar');
      const fill = el('span', null, 'imp-fill');
      fill.dataset.value = String(f.importance);
      bar.appendChild(fill);
      imp.appendChild(bar);
      imp.appendChild(el('span', fmt(f.importance, 3), 'imp-num'));
      tr.appendChild(imp);
      tr.appendChild(el('td', fmt(f.score), 'num'));
      tr.appendChild(el('td', fmt(f.fundamental), 'num'));
      tr.appendChild(el('td', fmt(f.harmonic), 'num'));
      tr.appendChild(el('td', fmt(f.intermodulation), 'num'));
      tr.appendChild(el('td', fmt(f.meanSnr, 2), 'num'));
      tr.appendChild(el('td', fmt(f.paperSnrDb, 1), 'num'));
      tr.addEventListener('click', () => selectFilter(f.filter));
      tbody.appendChild(tr);
    }
    // Widths through the CSSOM (allowed by the CSP), not through style attributes.
    for (const fill of tbody.querySelectorAll('.imp-fill')) {
      const v = Math.max(0, Math.min(1, parseFloat(fill.dataset.value) || 0));
      fill.style.width = (v * 100).toFixed(1) + '%';
    }
  }

  function selectFilter(filter) {
    state.filter = filter;
    state.dirty.spectrum = true;
    state.dirty.filter = true;
    if (state.importance) renderImportance(state.importance);
    schedule(true);
  }

  // ------------------------------------------------------------------ spectrum

  let spectrumChart = null;

  function renderSpectrum(s, message) {
    const meta = $('spectrum-meta');
    clear(meta);
    const tbody = $('bins-table').querySelector('tbody');
    clear(tbody);
    if (!s) {
      $('spectrum-title').textContent = 'Spectrum';
      $('spectrum-empty').textContent = message || 'Select a filter to see the amplitude spectrum of its latest window.';
      $('spectrum-empty').hidden = false;
      $('bins-table').hidden = true;
      if (spectrumChart) {
        spectrumChart.data.datasets = [];
        spectrumChart.update('none');
      }
      return;
    }
    $('spectrum-empty').hidden = true;
    $('bins-table').hidden = false;
    $('spectrum-title').textContent = 'Spectrum of filter ' + s.filter;
    const items = [
      ['probe', s.probe], ['image', s.imageId], ['window', 'frames ' + s.windowStartFrame + '\u2013'
        + (s.windowStartFrame + s.windowFrames - 1) + ' (W = ' + s.windowFrames + ')'],
      ['bin width', fmt(s.binWidthHz, 3) + ' Hz'], ['windows seen', s.responsesSeen],
    ];
    for (const [k, v] of items) {
      const span = el('span', null, 'meta-item');
      span.appendChild(el('span', k, 'meta-key'));
      span.appendChild(el('span', v, 'meta-val'));
      meta.appendChild(span);
    }

    const line = s.frequencyHz.map((hz, b) => ({ x: hz, y: s.amplitude[b] }));
    const datasets = [{
      type: 'line',
      label: 'amplitude A(b)',
      data: line,
      borderColor: COLORS.spectrum,
      backgroundColor: COLORS.spectrum,
      borderWidth: 1.25,
      pointRadius: 0,
      pointHitRadius: 2,
      order: 2,
    }];
    for (const kind of ['FUNDAMENTAL', 'HARMONIC', 'INTERMODULATION']) {
      const bins = s.signalBins.filter((b) => b.kind === kind);
      if (!bins.length) continue;
      datasets.push({
        type: 'scatter',
        label: KIND_NAMES[kind],
        data: bins.map((b) => ({ x: b.frequencyHz, y: b.amplitude, bin: b })),
        backgroundColor: COLORS[kind],
        borderColor: '#ffffff',
        borderWidth: 1,
        pointRadius: 5,
        pointHoverRadius: 7,
        pointStyle: kind === 'INTERMODULATION' ? 'rectRot' : kind === 'HARMONIC' ? 'triangle' : 'circle',
        order: 1,
      });
    }
    const nyquist = s.frequencyHz.length ? s.frequencyHz[s.frequencyHz.length - 1] : undefined;
    if (!spectrumChart) {
      spectrumChart = new Chart($('spectrum-chart'), {
        type: 'line',
        data: { datasets },
        options: {
          animation: false,
          maintainAspectRatio: false,
          parsing: false,
          interaction: { mode: 'nearest', intersect: false, axis: 'x' },
          plugins: {
            legend: { position: 'bottom', labels: { usePointStyle: true, boxHeight: 8 } },
            tooltip: {
              callbacks: {
                title: (items) => fmt(items[0].parsed.x, 2) + ' Hz',
                label: (item) => {
                  const b = item.raw && item.raw.bin;
                  if (!b) return 'A = ' + fmt(item.parsed.y);
                  return [
                    b.label + ' (' + KIND_NAMES[b.kind] + ', bin ' + b.bin + ')',
                    'amplitude ' + fmt(b.amplitude) + ', baseline ' + fmt(b.baseline),
                    'SNR ' + fmt(b.snr, 2) + ', corrected ' + fmt(b.corrected),
                  ];
                },
              },
            },
          },
          scales: {
            x: { type: 'linear', min: 0, max: nyquist, title: { display: true, text: 'frequency (Hz)' } },
            y: { beginAtZero: true, title: { display: true, text: 'amplitude' } },
          },
        },
      });
    } else {
      spectrumChart.data.datasets = datasets;
      spectrumChart.options.scales.x.max = nyquist;
      spectrumChart.update('none');
    }

    for (const b of s.signalBins) {
      const tr = document.createElement('tr');
      const term = el('td', null);
      term.appendChild(el('span', b.label, 'bin-chip kind-' + (b.kind || '').toLowerCase()));
      tr.appendChild(term);
      tr.appendChild(el('td', KIND_NAMES[b.kind] || b.kind));
      tr.appendChild(el('td', fmt(b.frequencyHz, 2), 'num'));
      tr.appendChild(el('td', fmt(b.amplitude), 'num'));
      tr.appendChild(el('td', fmt(b.baseline), 'num'));
      tr.appendChild(el('td', fmt(b.snr, 2), 'num'));
      tr.appendChild(el('td', fmt(b.corrected), 'num'));
      tbody.appendChild(tr);
    }
  }

  // ------------------------------------------------------------------ filter panel

  // Sets an image's source only when it changes, so a live refresh does not make it flicker.
  function setImage(img, url) {
    img.hidden = !url;
    if (!url) {
      img.removeAttribute('src');
      return;
    }
    if (img.getAttribute('src') !== url) img.src = url;
  }

  function renderFilterPanel(d, message) {
    state.filterDetail = d;
    const panel = $('filter-panel');
    panel.hidden = !d && !message;
    if (!d) {
      $('filter-title').textContent = 'Filter';
      $('filter-meta').textContent = message || '';
      return;
    }
    $('filter-title').textContent = 'Filter ' + d.filter + (d.rank !== null ? ' \u00b7 rank ' + d.rank : '');
    $('filter-meta').textContent = modelVersion(d.model, d.version) + ' \u203a ' + d.layer
      + (d.importance !== null ? ' \u00b7 importance ' + fmt(d.importance, 3) : '')
      + (d.score !== null ? ' \u00b7 score ' + fmt(d.score) : '');
    renderVisualization(d.visualization);
    renderMap(d.map);
    renderExamples(d);
  }

  function renderVisualization(v) {
    setImage($('vis-img'), v ? v.url : null);
    $('vis-note').textContent = v
      ? (v.method || 'visualisation') + ': objective reached ' + fmt(v.activation)
        + (v.meanSampleActivation !== null ? ' (mean over sample images ' + fmt(v.meanSampleActivation) + ')' : '')
      : 'No visualisation of this filter: run ./tagscope visualize and start the dashboard with --visualizations DIR.';
  }

  // Heat colour of a cell: orange above the baseline, blue below, opacity by |value| / the map's largest |value|.
  function heat(v, max) {
    if (v === null || !(max > 0)) return 'rgba(148, 163, 184, 0.35)';
    const a = 0.1 + 0.65 * Math.min(1, Math.abs(v) / max);
    return v >= 0 ? 'rgba(234, 88, 12, ' + a.toFixed(3) + ')' : 'rgba(37, 99, 235, ' + a.toFixed(3) + ')';
  }

  function renderMap(m) {
    const grid = $('map-grid');
    clear(grid);
    const pairs = $('im-pairs');
    clear(pairs);
    $('map-box').hidden = !m;
    $('map-legend').hidden = !m;
    if (!m) {
      setImage($('map-img'), null);
      $('map-note').textContent = 'No map: it needs a tag response of a probe of this model version whose regions lie on'
        + ' a grid (e.g. --layout grid:4x4).';
      return;
    }
    setImage($('map-img'), m.imageUrl);
    const values = m.cells.flat().filter((v) => v !== null);
    const max = values.length ? Math.max(...values.map(Math.abs)) : 0;
    const min = values.length ? Math.min(...values) : 0;
    // Grid geometry through the CSSOM (allowed by the CSP), not through style attributes.
    grid.style.gridTemplateColumns = 'repeat(' + m.cols + ', 1fr)';
    grid.style.gridTemplateRows = 'repeat(' + m.rows + ', 1fr)';
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < m.cols; j++) {
        const v = m.cells[i][j];
        const name = m.regions[i][j];
        const cell = el('div', null, 'map-cell');
        cell.style.backgroundColor = heat(v, max);
        cell.title = (name === null ? 'no region' : name) + ': ' + fmt(v);
        cell.dataset.value = v === null ? '' : String(v);
        cell.dataset.row = String(i);
        cell.dataset.col = String(j);
        grid.appendChild(cell);
      }
    }
    const scale = $('map-scale');
    scale.style.backgroundImage = min < 0
      ? 'linear-gradient(to right, ' + heat(-max, max) + ', ' + heat(0, max) + ', ' + heat(max, max) + ')'
      : 'linear-gradient(to right, ' + heat(0, max) + ', ' + heat(max, max) + ')';
    $('map-min').textContent = fmt(min < 0 ? -max : 0);
    $('map-max').textContent = fmt(max);
    for (const p of m.imPairs) {
      const li = el('li', null, 'im-pair');
      li.appendChild(el('span', p.first + ' + ' + p.second, 'mono'));
      li.appendChild(el('span', ' ' + fmt(p.amplitude), 'muted'));
      pairs.appendChild(li);
    }
    $('map-note').textContent = 'Baseline-corrected amplitude at each cell\'s tag frequency (fundamental), latest window of '
      + m.probe + ', image ' + m.imageId + ' (under the map). '
      + (m.imPairs.length ? 'Listed: the cells it combines (summed IM amplitude).' : 'It combines no cells (no IM pair above 1 %).');
  }

  function renderExamples(d) {
    const box = $('examples');
    clear(box);
    for (const e of d.examples) {
      const fig = el('figure', null, 'example');
      if (e.imageUrl) {
        const img = el('img', null, 'pixelated thumb');
        img.src = e.imageUrl;
        img.alt = e.imageId;
        fig.appendChild(img);
      } else {
        fig.appendChild(el('span', 'not held', 'thumb missing'));
      }
      const cap = el('figcaption');
      const cls = e.className !== null ? e.className : e.label !== null ? 'label ' + e.label : 'no label';
      cap.appendChild(el('span', cls, 'example-class'));
      cap.appendChild(el('span', fmt(e.activation), 'example-act muted'));
      fig.appendChild(cap);
      fig.title = e.probe + ' / ' + e.imageId + ': activation ' + fmt(e.activation) + ' over ' + e.frames + ' frames'
        + (e.label !== null ? ', label ' + e.label : '');
      box.appendChild(fig);
    }
    $('examples-note').textContent = d.examples.length
      ? 'Probed images that drive it most (mean activation over the image\'s frames), of ' + d.imagesSeen + ' seen'
        + (d.classesKnown ? '' : '; no class names given (tagscope dashboard --model FILE), labels shown')
      : 'No top examples of this layer yet: the spectral stream writes them to tagscope.top-examples as probes run.';
  }

  // ------------------------------------------------------------------ validation

  let pruningChart = null;

  function pct(x, digits) {
    return x === null || x === undefined ? fmt(null) : fmt(x * 100, digits);
  }

  function criterionLabel(name, def) {
    return name === def ? name + ' (this ranking)' : name;
  }

  // The verdict compares intervals, not just point values: with a few dozen filters a rho
  // difference of 0.1 is often chance, and the panel should not claim more than the data shows.
  function verdict(def, baselines) {
    if (!def || def.rho === null) {
      return ['warn', 'The validation could not define \u03c1 for this ranking (a constant criterion?).'];
    }
    const beaten = baselines.filter((b) => b.rho !== null && b.rho >= def.rho);
    if (beaten.length) {
      return ['warn', 'No better than ' + beaten.map((b) => b.criterion).join(', ')
        + ': a cheaper criterion predicts the damage at least as well.'];
    }
    if (def.rhoLow !== null && def.rhoLow <= 0) {
      return ['warn', 'The interval includes 0: on this layer the ranking may be no better than chance.'];
    }
    const overlapping = baselines.filter((b) => def.rhoLow === null || b.rhoHigh === null || b.rhoHigh >= def.rhoLow);
    if (overlapping.length) {
      return ['', 'Above the cheap baselines, but its interval overlaps '
        + overlapping.map((b) => b.criterion).join(', ') + ': the lead may be chance.'];
    }
    if (!baselines.length) return ['', 'No cheap baseline was measured to compare with.'];
    return ['good', 'Clearly above every cheap baseline: its interval lies above theirs.'];
  }

  function ciBar(c) {
    const track = el('span', null, 'ci-track');
    track.appendChild(el('span', null, 'ci-zero'));
    if (c.rhoLow !== null && c.rhoHigh !== null) {
      const range = el('span', null, 'ci-range');
      const lo = (Math.max(-1, Math.min(1, c.rhoLow)) + 1) / 2;
      const hi = (Math.max(-1, Math.min(1, c.rhoHigh)) + 1) / 2;
      // Positions through the CSSOM (allowed by the CSP), not through style attributes.
      range.style.left = (lo * 100).toFixed(1) + '%';
      range.style.width = (Math.max(0, hi - lo) * 100).toFixed(1) + '%';
      track.appendChild(range);
    }
    if (c.rho !== null) {
      const dot = el('span', null, 'ci-dot');
      dot.style.left = (((Math.max(-1, Math.min(1, c.rho)) + 1) / 2) * 100).toFixed(1) + '%';
      track.appendChild(dot);
    }
    return track;
  }

  function renderValidation(v) {
    state.validation = v;
    const tbody = $('criteria-table').querySelector('tbody');
    clear(tbody);
    $('trust').hidden = !selectedLayer();
    $('trust-meta').textContent = '';
    if (!v) {
      $('trust-empty').hidden = false;
      $('trust-body').hidden = true;
      if (pruningChart) {
        pruningChart.destroy();
        pruningChart = null;
      }
      return;
    }
    $('trust-empty').hidden = true;
    $('trust-body').hidden = false;
    const defName = v.defaultCriterion || 'tag';
    const byName = new Map(v.criteria.map((c) => [c.criterion, c]));
    const def = byName.get(defName) || null;
    const baselines = BASELINES.filter((n) => n !== defName && byName.has(n)).map((n) => byName.get(n));

    $('trust-meta').textContent = v.images + ' images per filter ablation, ' + v.curveImages
      + ' per pruning point, ' + v.probeImages + ' probe images \u00b7 base accuracy ' + pct(v.baseAccuracy, 1)
      + ' % \u00b7 validated ' + new Date(v.generatedAtMs).toLocaleString();

    const head = $('trust-headline');
    clear(head);
    head.appendChild(el('span', '\u03c1(' + defName + ') = ' + fmt(def ? def.rho : null, 2), 'rho'));
    if (def) {
      head.appendChild(el('span', ' [' + fmt(def.rhoLow, 2) + ', ' + fmt(def.rhoHigh, 2) + ']', 'ci'));
    }
    head.appendChild(el('span', ' 95 % interval over ' + v.filters + ' filters', 'muted'));
    const [tone, text] = verdict(def, baselines);
    $('trust-verdict').textContent = text;
    $('trust-verdict').className = 'trust-verdict' + (tone ? ' ' + tone : '');

    const auc = new Map(v.pruning.map((p) => [p.criterion, p.auc]));
    const ordered = [];
    if (def) ordered.push(def);
    for (const b of baselines) ordered.push(b);
    for (const c of v.criteria) if (!ordered.includes(c)) ordered.push(c);
    for (const c of ordered) {
      const tr = document.createElement('tr');
      if (c === def) tr.className = 'default';
      const name = el('td', c.criterion, 'nowrap');
      if (c === def) name.appendChild(el('span', 'ranking', 'badge ranking'));
      else if (BASELINES.includes(c.criterion)) name.appendChild(el('span', 'baseline', 'badge'));
      tr.appendChild(name);
      tr.appendChild(el('td', fmt(c.rho, 2) + ' [' + fmt(c.rhoLow, 2) + ', ' + fmt(c.rhoHigh, 2) + ']', 'num'));
      const ci = el('td', null, 'ci-col');
      ci.appendChild(ciBar(c));
      tr.appendChild(ci);
      tr.appendChild(el('td', fmt(c.rhoAccuracy, 2), 'num'));
      tr.appendChild(el('td', auc.has(c.criterion) && auc.get(c.criterion) !== null ? pct(auc.get(c.criterion), 1) + ' %' : '\u2013', 'num'));
      tbody.appendChild(tr);
    }
    renderPruning(v, defName);
  }

  function renderPruning(v, defName) {
    const datasets = [];
    let other = 0;
    // The ranking's own curve first, so it leads the legend; 'order' draws it on top and the
    // bands underneath everything.
    const curves = [...v.pruning.filter((c) => c.criterion === defName), ...v.pruning.filter((c) => c.criterion !== defName)];
    for (const c of curves) {
      const pts = (get) => c.fractions.map((f, i) => ({ x: f === null ? null : f * 100, y: get(i) }));
      const acc = (i) => (c.accuracy[i] === null ? null : c.accuracy[i] * 100);
      const isDef = c.criterion === defName;
      const color = isDef ? COLORS.FUNDAMENTAL
        : CURVE_COLORS[c.criterion] || OTHER_CURVE_COLORS[other++ % OTHER_CURVE_COLORS.length];
      if (c.spread.length === c.fractions.length && c.spread.length) {
        const band = (sign) => (i) => (c.accuracy[i] === null || c.spread[i] === null ? null
          : (c.accuracy[i] + sign * c.spread[i]) * 100);
        datasets.push({ label: c.criterion + ' \u2212 1 s.d.', band: true, data: pts(band(-1)), borderWidth: 0,
          pointRadius: 0, fill: false, order: 2 });
        datasets.push({ label: c.criterion + ' + 1 s.d.', band: true, data: pts(band(1)), borderWidth: 0,
          pointRadius: 0, fill: '-1', backgroundColor: color + '33', order: 2 });
      }
      datasets.push({
        label: criterionLabel(c.criterion, defName),
        data: pts(acc),
        borderColor: color,
        backgroundColor: color,
        borderWidth: isDef ? 3 : 1.5,
        borderDash: c.criterion === 'random' ? [5, 4] : [],
        pointRadius: isDef ? 2.5 : 1.5,
        fill: false,
        order: isDef ? 0 : 1,
      });
    }
    if (pruningChart) {
      pruningChart.data.datasets = datasets;
      pruningChart.update('none');
      return;
    }
    pruningChart = new Chart($('pruning-chart'), {
      type: 'line',
      data: { datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        plugins: {
          legend: {
            position: 'bottom',
            labels: { boxHeight: 8, boxWidth: 18, filter: (item, data) => !data.datasets[item.datasetIndex].band },
          },
          tooltip: {
            filter: (item) => !item.dataset.band,
            callbacks: {
              title: (items) => fmt(items[0].parsed.x, 1) + ' % of filters zeroed',
              label: (item) => item.dataset.label + ': ' + fmt(item.parsed.y, 1) + ' % accuracy',
            },
          },
        },
        scales: {
          x: { type: 'linear', min: 0, max: 100, title: { display: true, text: 'filters zeroed (%), least important first' } },
          y: { min: 0, max: 100, title: { display: true, text: 'accuracy (%)' } },
        },
      },
    });
  }

  // ------------------------------------------------------------------ history

  let trendChart = null;
  let stabilityChart = null;

  // A linear time axis in stimulus time: Chart.js's time scale needs a date adapter, which the
  // page does not load, so ticks are formatted here.
  function timeAxis(points) {
    const xs = points.map((p) => p.bucketStartMs);
    const span = xs.length > 1 ? xs[xs.length - 1] - xs[0] : 0;
    const pad = xs.length ? Math.max(points[0].bucketMs / 2, span * 0.02) : 0;
    return {
      type: 'linear',
      min: xs.length ? xs[0] - pad : undefined,
      max: xs.length ? xs[xs.length - 1] + pad : undefined,
      title: { display: true, text: 'bucket start (stimulus time)' },
      ticks: {
        maxRotation: 0,
        autoSkip: true,
        callback: (v) => {
          const d = new Date(v);
          return span > 86400000 ? d.toLocaleDateString() + ' ' + d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
            : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
        },
      },
    };
  }

  function lineChart(canvasId, datasets, points, y, tooltipLabel) {
    return new Chart($(canvasId), {
      type: 'line',
      data: { datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        spanGaps: false,
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        plugins: {
          legend: { position: 'bottom', labels: { boxHeight: 8, boxWidth: 18 } },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? stimulusTime(items[0].parsed.x) : ''),
              label: tooltipLabel,
            },
          },
        },
        scales: { x: timeAxis(points), y },
      },
    });
  }

  function updateChart(chart, datasets, points) {
    chart.data.datasets = datasets;
    chart.options.scales.x = timeAxis(points);
    chart.update('none');
  }

  function renderHistory(l, h) {
    state.history = h;
    $('history').hidden = !l;
    $('history-meta').textContent = '';
    if (!h || !h.buckets.length) {
      $('history-empty').hidden = false;
      $('history-body').hidden = true;
      for (const c of [trendChart, stabilityChart]) if (c) c.destroy();
      trendChart = stabilityChart = null;
      return;
    }
    $('history-empty').hidden = true;
    $('history-body').hidden = false;
    const pts = h.buckets;
    const last = pts[pts.length - 1];
    const compared = pts.filter((p) => p.rho !== null);
    const latest = compared.length ? compared[compared.length - 1] : null;
    $('history-meta').textContent = pts.length + (pts.length === 1 ? ' bucket' : ' buckets') + ' of '
      + fmt(last.bucketMs / 1000, 0) + ' s, ' + stimulusTime(pts[0].bucketStartMs) + ' \u2013 '
      + stimulusTime(last.bucketStartMs)
      + (latest ? ' \u00b7 latest \u03c1 ' + fmt(latest.rho, 2) + ' against ' + latest.referenceVersion
        : ' \u00b7 reference not complete yet')
      + (pts.length >= h.keptBuckets ? ' \u00b7 the latest ' + h.keptBuckets + ' kept' : '');

    const trend = h.top.map((f, i) => ({
      label: 'filter ' + f.filter + ' (#' + f.latestRank + ')',
      filter: f.filter,
      data: pts.map((p, b) => ({ x: p.bucketStartMs, y: f.importance[b], rank: f.rank[b] })),
      borderColor: TREND_COLORS[i % TREND_COLORS.length],
      backgroundColor: TREND_COLORS[i % TREND_COLORS.length],
      borderWidth: i === 0 ? 2.5 : 1.5,
      pointRadius: 2,
    }));
    const trendLabel = (item) => item.dataset.label + ': ' + fmt(item.parsed.y, 3)
      + (item.raw && item.raw.rank !== null && item.raw.rank !== undefined ? ', rank ' + item.raw.rank : '');
    if (!trendChart) {
      trendChart = lineChart('trend-chart', trend, pts,
        { min: 0, max: 1, title: { display: true, text: 'importance (score / top score)' } }, trendLabel);
    } else {
      updateChart(trendChart, trend, pts);
    }

    const xs = pts.map((p) => p.bucketStartMs);
    const stability = [
      {
        label: 'Spearman \u03c1',
        data: pts.map((p) => ({ x: p.bucketStartMs, y: p.rho, ref: p.referenceVersion })),
        borderColor: COLORS.FUNDAMENTAL,
        backgroundColor: COLORS.FUNDAMENTAL,
        borderWidth: 2.5,
        pointRadius: 2.5,
      },
      {
        label: 'top-k overlap',
        data: pts.map((p) => ({ x: p.bucketStartMs, y: p.topKOverlap, k: p.topK })),
        borderColor: '#16a34a',
        backgroundColor: '#16a34a',
        borderWidth: 1.5,
        pointRadius: 2,
      },
      {
        label: 'alert threshold ' + fmt(h.threshold, 2) + (h.thresholdFromAlert ? '' : ' (default)'),
        threshold: true,
        data: [{ x: xs[0], y: h.threshold }, { x: xs[xs.length - 1], y: h.threshold }],
        borderColor: '#dc2626',
        backgroundColor: '#dc2626',
        borderWidth: 1.5,
        borderDash: [6, 4],
        pointRadius: 0,
      },
    ];
    const stabilityLabel = (item) => {
      if (item.dataset.threshold) return item.dataset.label;
      const r = item.raw || {};
      if (r.k !== undefined) return 'top-' + r.k + ' overlap: ' + fmt(item.parsed.y, 2);
      return '\u03c1 ' + fmt(item.parsed.y, 2) + (r.ref ? ' against ' + r.ref : '');
    };
    if (!stabilityChart) {
      stabilityChart = lineChart('stability-chart', stability, pts,
        { min: -1, max: 1, title: { display: true, text: '\u03c1, overlap' } }, stabilityLabel);
    } else {
      updateChart(stabilityChart, stability, pts);
    }
  }

  // ------------------------------------------------------------------ alerts

  function renderAlerts(alerts) {
    const list = $('alerts-list');
    clear(list);
    const open = alerts.filter((a) => a.open).length;
    $('alerts-empty').hidden = alerts.length > 0;
    list.hidden = alerts.length === 0;
    $('alerts-count').textContent = alerts.length
      ? alerts.length + (alerts.length === 1 ? ' alert' : ' alerts') + (open ? ', ' + open + ' open' : '') : '';
    for (const a of alerts) {
      const li = el('li', null, 'alert alert-' + a.state.toLowerCase() + (a.open ? ' alert-open' : ''));
      li.appendChild(el('span', a.state === 'RAISED' ? (a.open ? 'raised (open)' : 'raised') : 'cleared', 'alert-state'));
      li.appendChild(el('span', stimulusTime(a.bucketStartMs), 'alert-time muted'));
      const link = el('a', modelVersion(a.model, a.version) + ' \u203a ' + a.layer, 'alert-layer');
      link.href = layerHash(a.model, a.version, a.layer);
      li.appendChild(link);
      li.appendChild(el('span', '\u03c1 ' + fmt(a.rho, 2) + (a.state === 'RAISED' ? ' < ' : ' \u2265 ') + fmt(a.threshold, 2)
        + ' against ' + a.referenceVersion, 'alert-rho'));
      li.appendChild(el('span', 'top-' + a.topK + ' overlap ' + fmt(a.topKOverlap, 2), 'alert-overlap muted'));
      if (a.movers.length) {
        const movers = el('span', null, 'alert-movers');
        movers.appendChild(el('span', 'moved: ', 'muted'));
        for (const m of a.movers.slice(0, 5)) {
          const chip = el('span', 'f' + m.filter + ' #' + m.referenceRank + '\u2192#' + m.rank, 'mover');
          chip.title = 'filter ' + m.filter + ': importance ' + fmt(m.referenceImportance, 3) + ' \u2192 ' + fmt(m.importance, 3);
          movers.appendChild(chip);
        }
        li.appendChild(movers);
      }
      list.appendChild(li);
    }
  }

  // ------------------------------------------------------------------ versions side by side

  // The versions of the selected layer's model that have that layer.
  function versionsOfSelected() {
    const l = selectedLayer();
    if (!l) return [];
    return state.layers.filter((x) => x.model === l.model && x.layer === l.layer).map((x) => x.version);
  }

  function fillVersionSelect(select, versions, chosen) {
    clear(select);
    for (const v of versions) {
      const o = el('option', v || '(no version)');
      o.value = v;
      o.selected = v === chosen;
      select.appendChild(o);
    }
  }

  async function refreshCompare() {
    const l = selectedLayer();
    const versions = versionsOfSelected();
    if (!l || versions.length < 2) {
      $('compare-card').hidden = !l;
      $('compare-empty').hidden = false;
      $('compare-body').hidden = true;
      state.compareA = state.compareB = null;
      return;
    }
    $('compare-card').hidden = false;
    // Defaults: the selected version as B, another one (the first) as A.
    if (!versions.includes(state.compareB)) state.compareB = l.version;
    if (!versions.includes(state.compareA) || state.compareA === state.compareB) {
      state.compareA = versions.find((v) => v !== state.compareB);
    }
    fillVersionSelect($('compare-a'), versions, state.compareA);
    fillVersionSelect($('compare-b'), versions, state.compareB);
    const c = await getJson('/api/compare', { model: l.model, layer: l.layer, a: state.compareA, b: state.compareB });
    if (!sameLayer(selectedLayer(), l)) {
      state.dirty.compare = true;
      return;
    }
    renderCompare(c);
  }

  function renderCompare(c) {
    $('compare-empty').hidden = true;
    $('compare-body').hidden = false;
    const head = $('compare-headline');
    clear(head);
    head.appendChild(el('span', '\u03c1 = ' + fmt(c.rho, 2), 'rho'));
    head.appendChild(el('span', ' \u00b7 top-' + c.topK + ' overlap ' + fmt(c.topKOverlap, 2), 'overlap'));
    head.appendChild(el('span', ' \u00b7 ' + c.filters + ' filters in both \u00b7 ' + c.model + ' \u203a ' + c.layer, 'muted'));
    $('compare-title-a').textContent = 'A: ' + (c.versionA || '(no version)');
    $('compare-title-b').textContent = 'B: ' + (c.versionB || '(no version)');
    const rankIn = (view) => new Map(view.filters.map((f) => [f.filter, f.rank]));
    const topIn = (view) => new Set(view.filters.slice(0, c.topK).map((f) => f.filter));
    const topA = topIn(c.a);
    const topB = topIn(c.b);
    fillCompareTable($('compare-table-a'), c.a, rankIn(c.b), (f) => topA.has(f) && topB.has(f));
    fillCompareTable($('compare-table-b'), c.b, rankIn(c.a), (f) => topA.has(f) && topB.has(f));
  }

  function fillCompareTable(table, view, otherRank, inBothTops) {
    const tbody = table.querySelector('tbody');
    clear(tbody);
    for (const f of view.filters) {
      const tr = document.createElement('tr');
      tr.dataset.filter = String(f.filter);
      if (inBothTops(f.filter)) tr.className = 'in-both';
      tr.appendChild(el('td', f.rank, 'num'));
      tr.appendChild(el('td', f.filter, 'num mono'));
      tr.appendChild(el('td', fmt(f.importance, 3), 'num'));
      const other = otherRank.get(f.filter);
      const delta = other === undefined ? '' : other === f.rank ? '' : other < f.rank ? ' \u2191' : ' \u2193';
      tr.appendChild(el('td', other === undefined ? '\u2013' : other + delta, 'num'));
      tbody.appendChild(tr);
    }
  }

  // ------------------------------------------------------------------ refresh loop

  function schedule(soon) {
    if (state.timer !== null) return;
    const wait = soon ? 0 : Math.max(0, state.lastRun + REFRESH_MS - Date.now());
    state.timer = setTimeout(run, wait);
  }

  async function run() {
    state.timer = null;
    if (state.running) {
      schedule(false);
      return;
    }
    state.running = true;
    state.lastRun = Date.now();
    const d = state.dirty;
    try {
      if (d.probes) {
        d.probes = false;
        renderProbes(await getJson('/api/probes'));
      }
      if (d.layers) {
        d.layers = false;
        renderLayers(await getJson('/api/layers'));
      }
      if (d.importance) {
        d.importance = false;
        const l = selectedLayer();
        renderImportance(l ? await getJson('/api/importance', { model: l.model, version: l.version, layer: l.layer }) : null);
      }
      if (d.validation) {
        d.validation = false;
        const l = selectedLayer();
        if (!l) {
          renderValidation(null);
        } else {
          let v = null;
          try {
            v = await getJson('/api/validation', { model: l.model, layer: l.layer });
          } catch (e) {
            if (e.status !== 404) throw e; // 404: not validated yet, the panel says how to
          }
          const now = selectedLayer();
          if (now && now.model === l.model && now.layer === l.layer) renderValidation(v);
          else d.validation = true; // the layer changed while fetching
        }
      }
      if (d.spectrum) {
        d.spectrum = false;
        const l = selectedLayer();
        if (!l || state.filter === null) {
          renderSpectrum(null);
        } else if (!state.probe) {
          renderSpectrum(null, 'No tag response for this layer yet.');
        } else {
          try {
            renderSpectrum(await getJson('/api/spectrum', { probe: state.probe, layer: l.layer, filter: state.filter }));
          } catch (e) {
            if (e.status === 404) renderSpectrum(null, e.message);
            else throw e;
          }
        }
      }
      if (d.filter) {
        d.filter = false;
        const l = selectedLayer();
        const f = state.filter;
        if (!l || f === null) {
          renderFilterPanel(null);
        } else {
          let detail = null;
          let message = null;
          try {
            detail = await getJson('/api/filter', { model: l.model, version: l.version, layer: l.layer, filter: f });
          } catch (e) {
            if (e.status !== 404) throw e;
            message = e.message;
          }
          if (sameLayer(selectedLayer(), l) && state.filter === f) renderFilterPanel(detail, message);
          else d.filter = true; // the selection changed while fetching
        }
      }
      if (d.history) {
        d.history = false;
        const l = selectedLayer();
        let h = null;
        if (l) {
          try {
            h = await getJson('/api/history', { model: l.model, version: l.version, layer: l.layer });
          } catch (e) {
            if (e.status !== 404) throw e; // 404: no bucket yet, the panel says so
          }
        }
        if (sameLayer(selectedLayer(), l)) renderHistory(l, h);
        else d.history = true;
      }
      if (d.alerts) {
        d.alerts = false;
        renderAlerts(await getJson('/api/alerts'));
      }
      if (d.compare) {
        d.compare = false;
        await refreshCompare();
      }
      $('last-update').textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      $('last-update').textContent = 'fetch failed: ' + e.message;
      d.layers = true; // try again on the next event or tick
    } finally {
      state.running = false;
      if (d.probes || d.layers || d.importance || d.spectrum || d.validation || d.history || d.alerts || d.compare
        || d.filter) {
        schedule(false);
      }
    }
  }

  // ------------------------------------------------------------------ live events

  function setLive(on, text) {
    $('live-dot').className = 'dot ' + (on ? 'dot-on' : 'dot-off');
    $('live-text').textContent = text;
  }

  function connect() {
    const es = new EventSource('/api/events');
    es.onopen = () => {
      setLive(true, 'live');
      // Anything may have changed while disconnected.
      state.dirty.probes = state.dirty.layers = state.dirty.importance = state.dirty.spectrum = true;
      state.dirty.validation = state.dirty.history = state.dirty.alerts = state.dirty.compare = true;
      state.dirty.filter = true;
      schedule(false);
    };
    es.onerror = () => setLive(false, 'reconnecting\u2026');
    const parse = (ev) => {
      try { return JSON.parse(ev.data); } catch (e) { return null; }
    };
    es.addEventListener('probe', () => {
      state.dirty.probes = true;
      schedule(false);
    });
    es.addEventListener('importance', (ev) => {
      const c = parse(ev);
      state.dirty.layers = true;
      const l = selectedLayer();
      if (c && sameLayer(c, l)) state.dirty.importance = state.dirty.filter = true;
      if (c && l && c.model === l.model && c.layer === l.layer) state.dirty.compare = true; // any version
      schedule(false);
    });
    es.addEventListener('history', (ev) => {
      const c = parse(ev);
      const l = selectedLayer();
      if (c && sameLayer(c, l)) {
        state.dirty.history = true;
        schedule(false);
      }
    });
    es.addEventListener('alert', (ev) => {
      const c = parse(ev);
      state.dirty.alerts = true;
      state.dirty.layers = true; // the layer list marks open alerts
      const l = selectedLayer();
      if (c && l && c.model === l.model && c.layer === l.layer) state.dirty.history = true; // the threshold
      schedule(false);
    });
    es.addEventListener('validation', (ev) => {
      const c = parse(ev);
      const l = selectedLayer();
      if (c && l && c.model === l.model && c.layer === l.layer) {
        state.dirty.validation = true;
        schedule(false);
      }
    });
    es.addEventListener('tag-response', (ev) => {
      const c = parse(ev);
      const l = selectedLayer();
      if (c && sameLayer(c, l)) {
        if (!l.probes.includes(c.probe)) state.dirty.layers = true;
        if (c.probe === state.probe) state.dirty.spectrum = true;
        if (state.filter !== null) state.dirty.filter = true; // the map is of the latest window; never undo a pending clear
        schedule(false);
      }
    });
    es.addEventListener('top-examples', (ev) => {
      const c = parse(ev);
      if (c && sameLayer(c, selectedLayer()) && state.filter !== null) {
        state.dirty.filter = true;
        schedule(false);
      }
    });
    es.addEventListener('probe-image', (ev) => {
      const c = parse(ev);
      const d = state.filterDetail;
      // Only an image the panel is missing matters (images arrive before the examples that name them).
      if (c && d && (d.examples.some((e) => e.probe === c.probe && !e.imageUrl) || (d.map && d.map.probe === c.probe && !d.map.imageUrl))) {
        state.dirty.filter = true;
        schedule(false);
      }
    });
  }

  // ------------------------------------------------------------------ wiring

  function init() {
    if (typeof Chart !== 'undefined') {
      Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      Chart.defaults.color = '#334155';
    }
    $('layer-select').addEventListener('change', (ev) => {
      state.layerKey = ev.target.value;
      layerToHash();
      state.filter = null;
      state.importance = null;
      state.userPickedProbe = false;
      state.dirty.importance = true;
      state.dirty.validation = true;
      state.dirty.history = true;
      state.dirty.compare = true;
      state.history = null;
      state.compareA = state.compareB = null;
      renderLayerMeta();
      renderProbeChoice();
      renderSpectrum(null);
      renderFilterPanel(null);
      schedule(true);
    });
    window.addEventListener('hashchange', () => {
      const linked = layerFromHash();
      if (linked && linked !== state.layerKey && state.layers.some((l) => layerKey(l) === linked)) {
        $('layer-select').value = linked;
        $('layer-select').dispatchEvent(new Event('change'));
      }
    });
    $('top-n').addEventListener('change', () => {
      if (state.importance) renderImportance(state.importance);
    });
    $('probe-select').addEventListener('change', (ev) => {
      state.probe = ev.target.value;
      state.userPickedProbe = true;
      state.dirty.spectrum = true;
      schedule(true);
    });
    $('compare-a').addEventListener('change', (ev) => {
      state.compareA = ev.target.value;
      state.dirty.compare = true;
      schedule(true);
    });
    $('compare-b').addEventListener('change', (ev) => {
      state.compareB = ev.target.value;
      state.dirty.compare = true;
      schedule(true);
    });
    renderSpectrum(null);
    schedule(true);
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
