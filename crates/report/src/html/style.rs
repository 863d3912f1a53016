//! The report's inline stylesheet and self-check script.

/// Inline CSS: a light, print-friendly layout using system fonts only.
pub(crate) const CSS: &str = r#"
:root{--ink:#1f2937;--muted:#5b6472;--line:#e3e7ee;--bg:#f4f6f9;--card:#fff;--accent:#0b5cad;--good:#137a3a;--bad:#b42318}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:1180px;margin:0 auto;padding:0 28px 40px}
header.top{background:linear-gradient(135deg,#0b2545 0%,#13315c 60%,#134074 100%);color:#fff;padding:34px 0 26px;margin-bottom:22px}
header.top .page{padding-bottom:0}
.brand{font-size:12px;letter-spacing:.14em;text-transform:uppercase;opacity:.75;margin:0 0 6px}
h1{font-size:30px;line-height:1.2;margin:0 0 6px;font-weight:650}
.subtitle{margin:0;opacity:.85;font-size:15px}
.subtitle code{background:rgba(255,255,255,.12);padding:1px 6px;border-radius:4px;color:#fff}
nav.toc{display:flex;flex-wrap:wrap;gap:6px;margin-top:18px}
nav.toc a{color:#fff;text-decoration:none;font-size:13px;padding:4px 11px;border:1px solid rgba(255,255,255,.3);border-radius:999px}
nav.toc a:hover{background:rgba(255,255,255,.12)}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:22px 26px 24px;margin:0 0 20px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
h2{font-size:19px;margin:0 0 4px;font-weight:650}
h2 .num{color:var(--accent);font-weight:600;margin-right:8px}
h3{font-size:15px;margin:18px 0 8px;font-weight:620}
p.lead{margin:0 0 16px;color:var(--muted);font-size:14px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:13px}
.grid{display:grid;gap:18px}
.cols-2{grid-template-columns:repeat(auto-fit,minmax(420px,1fr))}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:14px 28px}
dl.kv{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;font-size:14px}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;font-weight:520;overflow-wrap:anywhere}
.arch{background:#f6f8fb;border:1px solid var(--line);border-radius:6px;padding:8px 10px;white-space:pre-wrap;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:12px;margin:6px 0 18px}
.cards .card.wide{grid-column:span 2}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:#fbfcfe}
.card .v{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.2}
.card .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.card.hero{background:#eef5ff;border-color:#c9ddf7}
.card.hero .v{color:var(--accent)}
table{border-collapse:collapse;width:100%;font-size:14px;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;vertical-align:middle;white-space:nowrap}
td.text{white-space:normal}
th{font-size:12.5px;color:var(--muted);font-weight:600;background:#f8fafc;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td.text{text-align:left}
tr.summary td{font-weight:650;border-top:2px solid var(--line)}
.bar{display:inline-block;vertical-align:middle;height:8px;border-radius:4px;background:#e8edf4;width:90px;margin-left:8px;overflow:hidden}
.bar>i{display:block;height:100%;background:var(--accent)}
.chart{overflow-x:auto}
.chart svg{display:block;width:100%;max-width:640px;height:auto}
svg{max-width:100%;height:auto}
figure{margin:0}
.samples{display:grid;gap:16px}
.sample{border:1px solid var(--line);border-radius:8px;padding:14px 16px;break-inside:avoid;display:flex;gap:20px;align-items:flex-start}
.sample-meta{flex:none;width:170px;display:flex;flex-direction:column;align-items:flex-start;gap:7px;font-size:14px;padding-top:2px}
.sample-meta strong{font-size:15px}
.tag{font-size:12px;padding:2px 8px;border-radius:999px;background:#eef2f7;color:var(--ink)}
.tag.ok{background:#e3f4e8;color:var(--good)}
.tag.no{background:#fde8e7;color:var(--bad)}
.strip{display:flex;flex-wrap:wrap;gap:14px}
.strip figure{min-width:120px}
.strip img{height:auto;display:block;border-radius:4px;image-rendering:pixelated;image-rendering:crisp-edges;border:1px solid #d5dae2;background:#000}
.strip .method{font-size:12.5px;font-weight:600;line-height:1.3;min-height:2.6em;margin-bottom:4px;display:flex;align-items:flex-end}
.strip figcaption{font-size:11.5px;color:var(--muted);line-height:1.35}
.legend-note{font-size:12.5px;color:var(--muted);margin:12px 0 0}
.badge{display:inline-block;font-size:12px;font-weight:700;letter-spacing:.05em;padding:2px 9px;border-radius:4px;color:#fff}
.badge.pass{background:var(--good)}
.badge.fail{background:var(--bad)}
.rules td.text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px;white-space:pre-wrap}
.notice{border-left:4px solid var(--bad);background:#fff5f4;padding:8px 12px;font-size:13.5px;margin:8px 0}
.tx-sample{border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:0 0 14px}
.tx-target{margin:0 0 8px;font-weight:600}
.tx-switch{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin:0 0 10px}
.tx-family{font-size:11.5px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 2px 0 8px}
.tx-family:first-child{margin-left:0}
.tx-switch button{font:inherit;font-size:13px;padding:3px 11px;border:1px solid var(--line);border-radius:999px;background:#fff;color:var(--ink);cursor:pointer}
.tx-switch button[aria-selected="true"]{background:var(--accent);border-color:var(--accent);color:#fff}
.tx-text{font-size:16px;line-height:2.1;margin:0 0 6px;white-space:pre-wrap;overflow-wrap:anywhere}
.tok{border-radius:3px;padding:1px 1px;cursor:help}
.tok.special{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;padding:1px 5px;margin:0 4px;border:1px solid #c3c9d2}
.tx-legend{display:flex;flex-wrap:wrap;align-items:center;gap:12px;font-size:12.5px;color:var(--muted)}
.tx-legend .chart svg{width:260px}
tr.baseline td{color:var(--muted);font-style:italic;border-top:2px solid var(--line)}
footer{color:var(--muted);font-size:12.5px;text-align:center;padding:8px 0 24px}
@media print{
  body{background:#fff;font-size:12px}
  header.top{background:#fff;color:var(--ink);padding:0 0 10px;border-bottom:2px solid var(--ink)}
  .subtitle code{background:#eef2f7;color:var(--ink)}
  nav.toc{display:none}
  section{box-shadow:none;border:none;border-top:1px solid var(--line);border-radius:0;padding:14px 0;break-inside:avoid-page}
  .sample,figure,svg,table{break-inside:avoid}
  .page{padding:0}
}
@page{margin:14mm}
"#;

/// Runs after load: checks that every image decoded and records the result on `<html>` as
/// `data-images-total`, `data-images-failed`, `data-check="ok" | "failed"` and the document
/// height `data-page-height` (read back by the headless-browser test). It changes nothing
/// visible.
pub(crate) const SELF_CHECK_JS: &str = r#"
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var failed = imgs.filter(function (img) { return !(img.complete && img.naturalWidth > 0); });
  var root = document.documentElement;
  root.setAttribute("data-images-total", String(imgs.length));
  root.setAttribute("data-images-failed", String(failed.length));
  root.setAttribute("data-check", failed.length === 0 ? "ok" : "failed");
  root.setAttribute("data-page-height", String(Math.ceil(root.scrollHeight)));
});
"#;
