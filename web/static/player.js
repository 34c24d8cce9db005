// Player page: plays ./index.m3u8 with hls.js (or native HLS), waits with
// back-off while the stream is offline, recovers from media errors, and
// exposes its state as window.__player for browser tests.
(function () {
  'use strict';

  var root = document.getElementById('player');
  var video = document.getElementById('video');
  var src = root.dataset.src;
  var app = root.dataset.app;
  var stream = root.dataset.stream;
  var apiURL = new URL('../../api/v1/streams/' + encodeURIComponent(app) + '/' + encodeURIComponent(stream), location.href).href;

  var BACKOFF_MIN_MS = 500;
  var BACKOFF_MAX_MS = 5000;
  var MAX_ERRORS_KEPT = 50;
  var RECOVER_WINDOW_MS = 3000;

  var P = window.__player = {
    hls: null,
    video: video,
    state: 'init',
    engine: '',
    errors: [],
    attempts: 0
  };

  var timer = 0;
  var attempt = 0; // consecutive failed attempts, drives the back-off
  var lastRecover = 0;
  var swappedAudio = false;

  function $(id) { return document.getElementById(id); }

  var MESSAGES = {
    init: ['Loading player…', ''],
    waiting: ['Waiting for the stream', 'The stream is offline. Playback starts as soon as it goes live.'],
    starting: ['Starting…', ''],
    buffering: ['Buffering…', ''],
    playing: ['', ''],
    paused: ['Paused', ''],
    ended: ['The stream has ended', 'Playback resumes if the publisher comes back.'],
    error: ['Playback error', 'Retrying…'],
    unsupported: ['Cannot play HLS in this browser', 'This browser has neither Media Source Extensions nor native HLS.']
  };

  function setState(state, text) {
    if (P.state === state && text === undefined) return;
    P.state = state;
    root.dataset.state = state;
    var m = MESSAGES[state] || [state, ''];
    $('overlay-title').textContent = m[0];
    $('overlay-text').textContent = text !== undefined ? text : m[1];
    var badge = $('stat-state');
    if (badge) {
      badge.replaceChildren();
      var b = document.createElement('span');
      b.className = 'badge ' + state;
      b.textContent = state;
      badge.appendChild(b);
    }
  }

  function recordError(e) {
    P.errors.push({
      time: new Date().toISOString(),
      type: e.type || '',
      details: e.details || '',
      fatal: !!e.fatal,
      status: e.status || 0,
      message: e.message || ''
    });
    if (P.errors.length > MAX_ERRORS_KEPT) P.errors.shift();
  }

  function nextDelay() {
    var d = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt));
    attempt++;
    return Math.round(d * (0.75 + Math.random() * 0.5)); // jitter spreads reconnecting viewers
  }

  function schedule(fn, delay) {
    clearTimeout(timer);
    timer = setTimeout(fn, delay);
  }

  function teardown() {
    clearTimeout(timer);
    if (P.hls) {
      P.hls.destroy();
      P.hls = null;
    }
    fillChoices();
    if (P.engine === 'native') {
      video.removeAttribute('src');
      video.load();
    }
  }

  // probe checks whether the multivariant playlist exists before a player is
  // built, so an offline stream costs one small request per back-off step.
  function probe() {
    P.attempts++;
    fetch(src, { cache: 'no-store' }).then(function (res) {
      if (res.ok) {
        start();
        return;
      }
      recordError({ type: 'probe', details: 'http', status: res.status });
      setState('waiting');
      schedule(probe, nextDelay());
    }, function (err) {
      recordError({ type: 'probe', details: 'network', message: String(err) });
      setState('waiting');
      schedule(probe, nextDelay());
    });
  }

  function restart(state) {
    teardown();
    setState(state);
    schedule(probe, nextDelay());
  }

  // whenLive polls the API after the stream ended and restarts playback
  // once a publisher is live again (replaying an ended playlist from its
  // start would loop the recording).
  function whenLive() {
    fetch(apiURL, { cache: 'no-store' }).then(function (res) {
      return res.ok ? res.json() : null;
    }).then(function (s) {
      if (s && s.live) {
        attempt = 0;
        teardown();
        start();
      } else {
        schedule(whenLive, nextDelay());
      }
    }, function () {
      schedule(whenLive, nextDelay());
    });
  }

  function start() {
    setState('starting');
    if (window.Hls && window.Hls.isSupported()) {
      startHlsJs();
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      startNative();
    } else {
      P.engine = 'none';
      setState('unsupported', window.Hls ? undefined :
        'hls.js is not bundled in this build (run go generate ./web) and this browser has no native HLS.');
    }
    if ($('engine')) $('engine').textContent = 'player: ' + engineLabel();
  }

  function engineLabel() {
    if (P.engine === 'hls.js') return 'hls.js ' + window.Hls.version;
    if (P.engine === 'native') return 'native HLS';
    return 'none';
  }

  function startHlsJs() {
    var Hls = window.Hls;
    P.engine = 'hls.js';
    var hls = new Hls({
      lowLatencyMode: true,
      // After a stall, play slightly faster until back at the live sync
      // position instead of staying behind for the rest of the session.
      maxLiveSyncPlaybackRate: 1.5,
      // A live stream has no end: let the native controls say so.
      liveDurationInfinity: true,
      backBufferLength: 30,
      // The page owns retries of the first manifest load (see onError).
      manifestLoadPolicy: {
        default: {
          maxTimeToFirstByteMs: 10000,
          maxLoadTimeMs: 20000,
          timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 },
          errorRetry: { maxNumRetry: 1, retryDelayMs: 500, maxRetryDelayMs: 1000 }
        }
      }
    });
    P.hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      fillChoices();
      var p = video.play();
      if (p && p.catch) p.catch(function () { setState('paused', 'Press play to start.'); });
    });
    hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, fillChoices);
    hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, fillChoices);
    hls.on(Hls.Events.ERROR, function (_, data) {
      recordError({
        type: data.type,
        details: data.details,
        fatal: data.fatal,
        status: data.response && data.response.code
      });
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        var now = Date.now();
        if (now - lastRecover > RECOVER_WINDOW_MS) {
          lastRecover = now;
          hls.recoverMediaError();
          return;
        }
        if (!swappedAudio) {
          swappedAudio = true;
          lastRecover = now;
          hls.swapAudioCodec();
          hls.recoverMediaError();
          return;
        }
      }
      var offline = data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR ||
        data.details === Hls.ErrorDetails.LEVEL_LOAD_ERROR ||
        (data.response && data.response.code === 404);
      restart(offline ? 'waiting' : 'error');
    });
    hls.attachMedia(video);
    hls.loadSource(src);
  }

  function startNative() {
    P.engine = 'native';
    video.src = src;
    var p = video.play();
    if (p && p.catch) p.catch(function () { setState('paused', 'Press play to start.'); });
  }

  video.addEventListener('playing', function () {
    attempt = 0;
    swappedAudio = false;
    setState('playing');
    updateStats();
  });
  video.addEventListener('waiting', function () {
    if (P.state === 'playing') setState('buffering');
  });
  video.addEventListener('pause', function () {
    if (P.state === 'playing' && !video.ended) setState('paused', '');
  });
  video.addEventListener('ended', function () {
    setState('ended');
    teardown();
    attempt = 0;
    schedule(whenLive, nextDelay());
  });
  video.addEventListener('error', function () {
    if (P.engine !== 'native') return; // hls.js reports through its own events
    var err = video.error;
    recordError({ type: 'native', details: err ? 'code ' + err.code : '', fatal: true, message: err && err.message });
    restart('waiting');
  });

  // Statistics: resolution, current level bitrate, live latency, buffer.
  function formatBitrate(bps) {
    if (!bps) return '—';
    return bps >= 1e6 ? (bps / 1e6).toFixed(2) + ' Mbit/s' : Math.round(bps / 1e3) + ' kbit/s';
  }
  function bufferAhead() {
    var b = video.buffered, t = video.currentTime;
    for (var i = 0; i < b.length; i++) {
      if (b.start(i) <= t + 0.1 && t <= b.end(i)) return b.end(i) - t;
    }
    return 0;
  }
  function nativeLatency() {
    // Safari maps the playlist's EXT-X-PROGRAM-DATE-TIME to getStartDate().
    if (!video.getStartDate) return NaN;
    var start = video.getStartDate().getTime();
    if (!start) return NaN;
    return (Date.now() - (start + video.currentTime * 1000)) / 1000;
  }
  function updateStats() {
    if (!$('stat-resolution')) return;
    var playing = P.state === 'playing' || P.state === 'buffering' || P.state === 'paused';
    $('stat-resolution').textContent = playing && video.videoWidth ? video.videoWidth + '×' + video.videoHeight : '—';
    var bitrate = 0, latency = NaN;
    if (P.hls && playing) {
      var lvl = P.hls.levels && P.hls.levels[P.hls.currentLevel];
      bitrate = lvl ? lvl.bitrate : 0;
      latency = P.hls.latency;
    } else if (P.engine === 'native' && playing) {
      latency = nativeLatency();
    }
    $('stat-bitrate').textContent = formatBitrate(bitrate);
    $('stat-latency').textContent = isFinite(latency) && latency > 0 ? latency.toFixed(1) + ' s' : '—';
    $('stat-buffer').textContent = playing ? bufferAhead().toFixed(1) + ' s' : '—';
  }
  setInterval(updateStats, 1000);

  // Quality and audio menus for a ladder (hls.js): Auto or one rendition
  // (an immediate switch), and the alternate audio renditions. Hidden when
  // there is nothing to choose.
  function fillChoices() {
    var q = $('quality'), a = $('audio');
    if (!q || !a) return;
    var hls = P.hls;
    var levels = (hls && hls.levels) || [];
    var tracks = (hls && hls.audioTracks) || [];
    q.textContent = '';
    addOption(q, -1, 'Auto');
    levels.forEach(function (l, i) {
      addOption(q, i, (l.height ? l.height + 'p' : 'Rendition ' + (i + 1)) + ' · ' + formatBitrate(l.bitrate));
    });
    q.value = String(hls && !hls.autoLevelEnabled ? hls.currentLevel : -1);
    a.textContent = '';
    tracks.forEach(function (t, i) { addOption(a, i, t.name || 'Track ' + (i + 1)); });
    if (hls && tracks.length) a.value = String(hls.audioTrack);
    $('quality-choice').hidden = levels.length < 2;
    $('audio-choice').hidden = tracks.length < 2;
    $('choices').hidden = levels.length < 2 && tracks.length < 2;
  }
  function addOption(sel, value, text) {
    var o = document.createElement('option');
    o.value = String(value);
    o.textContent = text;
    sel.appendChild(o);
  }
  if ($('quality')) {
    $('quality').addEventListener('change', function (e) {
      if (P.hls) P.hls.currentLevel = parseInt(e.target.value, 10);
    });
    $('audio').addEventListener('change', function (e) {
      if (P.hls) P.hls.audioTrack = parseInt(e.target.value, 10);
    });
  }

  // Share and embed snippets, absolute so they can be pasted anywhere.
  function initShare() {
    var base = location.origin + location.pathname.replace(/[^/]*$/, '');
    var playlist = base + 'index.m3u8';
    var fields = {
      'url-playlist': playlist,
      'embed-iframe': '<iframe src="' + base + '?embed=1" width="1280" height="720" ' +
        'style="width:100%;height:auto;aspect-ratio:16/9;border:0" ' +
        'allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>',
      'embed-video': '<video src="' + playlist + '" controls autoplay muted playsinline></video>'
    };
    Object.keys(fields).forEach(function (id) {
      var f = $(id);
      if (f) f.value = fields[id];
    });
    document.querySelectorAll('button[data-copy]').forEach(function (btn) {
      btn.addEventListener('click', function () {
        var f = $(btn.dataset.copy);
        var done = function () {
          btn.textContent = 'Copied';
          btn.classList.add('copied');
          setTimeout(function () { btn.textContent = 'Copy'; btn.classList.remove('copied'); }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(f.value).then(done, function () { f.select(); });
        } else {
          f.focus();
          f.select();
          try { if (document.execCommand('copy')) done(); } catch (e) { /* selection stays for manual copy */ }
        }
      });
    });
  }

  initShare();
  if ($('engine')) $('engine').textContent = 'player: ' + (window.Hls ? 'hls.js ' + window.Hls.version : 'native HLS');
  setState('init');
  probe();
})();
