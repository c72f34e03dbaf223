// The classify page: token in sessionStorage, models from GET /v1/models, images to POST /v1/models/{m}:classify.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const token = $('token'), model = $('model'), drop = $('drop'), file = $('file'), preview = $('preview');
  const status = $('status'), result = $('result');
  token.value = sessionStorage.getItem('tandem.token') || '';

  function headers() {
    return token.value ? { 'Authorization': 'Bearer ' + token.value } : {};
  }

  function say(text, error) {
    status.textContent = text;
    status.className = error ? 'error' : '';
  }

  async function errorOf(res) {
    try {
      const j = await res.json();
      return res.status + ': ' + (j.error || JSON.stringify(j));
    } catch (e) {
      return res.status + ' ' + res.statusText;
    }
  }

  async function loadModels() {
    try {
      const res = await fetch('/v1/models', { headers: headers() });
      if (!res.ok) {
        say('Cannot list the models: ' + await errorOf(res), true);
        return;
      }
      const keep = model.value;
      model.textContent = '';
      for (const m of (await res.json()).models) {
        const o = document.createElement('option');
        o.value = m.name;
        o.textContent = m.name + (m.version ? ' (version ' + m.version + ')' : ' (unavailable)');
        o.disabled = !m.classifier;
        model.appendChild(o);
      }
      const first = [...model.options].find((o) => !o.disabled);
      if ([...model.options].some((o) => o.value === keep && !o.disabled)) {
        model.value = keep;
      } else if (first) {
        model.value = first.value;
      }
      say(first ? '' : 'No image classifier is loaded', !first);
    } catch (e) {
      say('Cannot reach the server: ' + e, true);
    }
  }

  async function classify(blob) {
    if (!model.value) {
      say('Pick a model first (is the token right?)', true);
      return;
    }
    preview.src = URL.createObjectURL(blob);
    preview.hidden = false;
    result.hidden = true;
    say('Classifying…', false);
    const t0 = performance.now();
    try {
      const res = await fetch('/v1/models/' + encodeURIComponent(model.value) + ':classify?top=5', {
        method: 'POST', headers: Object.assign({ 'Content-Type': 'application/octet-stream' }, headers()), body: blob
      });
      if (!res.ok) {
        say('The server refused: ' + await errorOf(res), true);
        return;
      }
      const j = await res.json();
      $('answered-model').textContent = j.model_name;
      $('version').textContent = j.model_version;
      $('elapsed').textContent = Math.round(performance.now() - t0);
      const body = $('top').tBodies[0];
      body.textContent = '';
      for (const p of j.predictions) {
        const tr = body.insertRow();
        tr.className = 'prediction';
        tr.insertCell().textContent = p.label;
        const pc = tr.insertCell();
        pc.className = 'p';
        pc.textContent = (100 * p.probability).toFixed(1) + ' %';
        const bar = document.createElement('div');
        bar.className = 'bar';
        bar.style.width = Math.max(1, Math.round(100 * p.probability)) + '%';
        tr.insertCell().appendChild(bar);
      }
      result.hidden = false;
      say('', false);
    } catch (e) {
      say('Cannot reach the server: ' + e, true);
    }
  }

  token.addEventListener('change', () => {
    sessionStorage.setItem('tandem.token', token.value);
    loadModels();
  });
  drop.addEventListener('click', (e) => { if (e.target !== file) file.click(); });
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') file.click(); });
  file.addEventListener('change', () => { if (file.files.length) classify(file.files[0]); });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length) classify(e.dataTransfer.files[0]);
  });
  loadModels();
})();
