// Live stream list: polls the JSON API and redraws the cards.
(function () {
  'use strict';

  var REFRESH_MS = 3000;
  var grid = document.getElementById('streams');
  var empty = document.getElementById('empty');
  var refresh = document.getElementById('refresh');
  var refreshText = document.getElementById('refresh-text');
  var timer = 0;

  var host = location.hostname || 'HOST';
  document.getElementById('rtmp-url').textContent = 'rtmp://' + host + ':1935/live/STREAM';
  document.getElementById('ffmpeg-cmd').textContent =
    'ffmpeg -re -i input.mp4 -c copy -f flv rtmp://' + host + ':1935/live/STREAM';

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function formatBitrate(bps) {
    if (!bps) return '';
    if (bps >= 1e6) return (bps / 1e6).toFixed(bps >= 1e7 ? 0 : 1) + ' Mbit/s';
    return Math.round(bps / 1e3) + ' kbit/s';
  }

  function formatUptime(startedAt) {
    var t = Date.parse(startedAt);
    if (!t) return '';
    var s = Math.max(0, Math.floor((Date.now() - t) / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    if (h > 0) return h + ' h ' + m + ' min';
    if (m > 0) return m + ' min';
    return s + ' s';
  }

  function card(s) {
    var a = el('a', 'card stream');
    a.href = s.player_url;
    a.dataset.app = s.app;
    a.dataset.stream = s.name;

    var thumb = el('div', 'thumb');
    var status = s.live ? 'live' : (s.ended ? 'ended' : 'offline');
    thumb.appendChild(el('span', 'badge ' + status, status));
    thumb.appendChild(el('span', 'play'));
    var video = (s.tracks || []).filter(function (t) { return t.kind === 'video'; })[0];
    if (video && video.width && video.height) {
      thumb.appendChild(el('span', 'res', video.width + '×' + video.height));
    }
    a.appendChild(thumb);

    var body = el('div', 'body');
    var name = el('div', 'name');
    name.appendChild(el('span', 'app', s.app + ' / '));
    name.appendChild(document.createTextNode(s.name));
    name.title = s.app + '/' + s.name;
    body.appendChild(name);

    var meta = el('div', 'meta');
    var codecs = (s.tracks || []).map(function (t) { return t.codec; }).filter(Boolean);
    if (codecs.length) meta.appendChild(el('span', '', codecs.join(', ')));
    if (video && video.frame_rate) meta.appendChild(el('span', '', Math.round(video.frame_rate) + ' fps'));
    var br = formatBitrate(s.bandwidth);
    if (br) meta.appendChild(el('span', '', br));
    var up = s.live ? formatUptime(s.started_at) : '';
    if (up) meta.appendChild(el('span', '', 'up ' + up));
    body.appendChild(meta);
    a.appendChild(body);
    return a;
  }

  function render(streams) {
    // Live streams first, then by name.
    streams.sort(function (x, y) {
      if (x.live !== y.live) return x.live ? -1 : 1;
      var a = x.app + '/' + x.name, b = y.app + '/' + y.name;
      return a < b ? -1 : (a > b ? 1 : 0);
    });
    var frag = document.createDocumentFragment();
    streams.forEach(function (s) { frag.appendChild(card(s)); });
    grid.replaceChildren(frag);
    empty.hidden = streams.length > 0;
    var live = streams.filter(function (s) { return s.live; }).length;
    refresh.classList.remove('error');
    refreshText.textContent = live + ' live · updated ' + new Date().toLocaleTimeString();
  }

  function load() {
    clearTimeout(timer);
    fetch('api/v1/streams', { cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (data) { render(data.streams || []); })
      .catch(function (err) {
        refresh.classList.add('error');
        refreshText.textContent = 'Cannot reach the server (' + err.message + '), retrying…';
      })
      .then(function () { timer = setTimeout(load, REFRESH_MS); });
  }

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) load();
  });
  load();
})();
