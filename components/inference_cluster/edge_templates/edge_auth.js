{# Template of the edge's njs module, filled by edge_proxy.render_auth_script: each {{ name }} is a #}
{# JSON literal, and these {# ... #} lines are dropped. See edge_proxy.py's docstring for the why. #}
// Rendered by components/inference_cluster/edge_proxy.py; see its docstring.
var fs = require('fs');
var crypto = require('crypto');
var DIGESTS = {{ digests_file }};
var HEX = /^[0-9a-f]{64}$/;

function keyOk(r) {
    var header = r.headersIn['Authorization'] || '';
    if (header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') {
        return '0';
    }
    var presented = crypto.createHash('sha256').update(header.slice(7).trim()).digest('hex');
    var lines;
    try {
        lines = fs.readFileSync(DIGESTS, 'utf8').split('\n');
    } catch (e) {
        r.error('edge: cannot read the API key digests: ' + e);
        return '0';
    }
    var match = 0;
    for (var n = 0; n < lines.length; n++) {
        var digest = lines[n].trim();
        if (!HEX.test(digest)) {
            continue;
        }
        var diff = 0;
        for (var i = 0; i < 64; i++) {
            diff |= presented.charCodeAt(i) ^ digest.charCodeAt(i);
        }
        match |= (diff === 0) ? 1 : 0;
    }
    return match === 1 ? '1' : '0';
}

function healthy(r) {
    r.return(200, '{"status":"ok"}');
}

// Request counts (see the module docstring of edge_proxy.py): one file per worker, replaced
// whole on every answer, summed by `metrics`.
var COUNTERS = {{ counters_dir }};
var ROUTES = {{ routes }};

function counterFile() {
    return COUNTERS + '/worker-' + process.pid + '.json';
}

function readCounts(file) {
    try {
        return JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
        return {};
    }
}

function count(r) {
    var route = ROUTES.indexOf(r.uri) >= 0 ? r.uri : 'other';
    var key = route + ' ' + r.status;
    var file = counterFile();
    var counts = readCounts(file);
    counts[key] = (counts[key] || 0) + 1;
    try {
        fs.writeFileSync(file + '.tmp', JSON.stringify(counts));
        fs.renameSync(file + '.tmp', file);
    } catch (e) {
        r.error('edge: cannot write the request counters: ' + e);
    }
    return '';
}

function metrics(r) {
    var totals = {};
    var names = [];
    try {
        names = fs.readdirSync(COUNTERS);
    } catch (e) {
        r.error('edge: cannot read the request counters: ' + e);
    }
    for (var n = 0; n < names.length; n++) {
        if (!/^worker-[0-9]+[.]json$/.test(names[n])) {
            continue;
        }
        var counts = readCounts(COUNTERS + '/' + names[n]);
        for (var key in counts) {
            totals[key] = (totals[key] || 0) + counts[key];
        }
    }
    var lines = [
        '# HELP edge_requests_total Answers of the public listener, by route and status code.',
        '# TYPE edge_requests_total counter'
    ];
    var keys = Object.keys(totals).sort();
    for (var k = 0; k < keys.length; k++) {
        var space = keys[k].indexOf(' ');
        lines.push('edge_requests_total{route="' + keys[k].slice(0, space) + '",code="'
            + keys[k].slice(space + 1) + '"} ' + totals[keys[k]]);
    }
    r.headersOut['Content-Type'] = 'text/plain; version=0.0.4';
    r.return(200, lines.join('\n') + '\n');
}

export default {keyOk, healthy, count, metrics};
