namespace ZapHub.GatewayEmulator.Control;

/// <summary>A one-file page to play the phone by hand: see instances, scan, unlink, send an inbound message.</summary>
public static class ControlPage
{
    public static string Html(string basePath) => """
<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Gateway emulator — the phone</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem;max-width:900px}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}
button{margin:.1rem;padding:.3rem .6rem}code{font-size:.8em;word-break:break-all}</style></head><body>
<h1>Gateway emulator</h1><p>Acts as the phone for Evolution API and WPPConnect instances, and as the network: "WhatsApp unreachable" makes a start fail the way the real servers do offline. It refreshes every 2 s.</p>
<table><thead><tr><th>Provider</th><th>Instance</th><th>State</th><th>Pairing code</th><th>Actions</th></tr></thead><tbody id="rows"></tbody></table>
<p id="msg" role="status"></p>
<script>
const base = "__BASE__".replace(/\/$/, "");
async function act(provider, name, action, body) {
  const r = await fetch(`${base}/${provider}/${name}/${action}`, {method:"POST", headers:{"Content-Type":"application/json"}, body: JSON.stringify(body || {})});
  document.getElementById("msg").textContent = `${action} ${name}: ${r.status} ${await r.text()}`;
  load();
}
function row(provider, i) {
  const n = i.name;
  return `<tr><td>${provider}</td><td>${n}</td><td>${i.state ?? "CLOSED"}</td><td>${i.pairingCode ?? ""}</td><td>
  <button onclick="act('${provider}','${n}','scan')">Scan QR</button>
  <button onclick="act('${provider}','${n}','pair',{code:'${i.pairingCode ?? ""}'})">Confirm code</button>
  <button onclick="act('${provider}','${n}','unlink')">Unlink</button>
  <button onclick="act('${provider}','${n}','inbound',{from:'5511988887777',pushName:'Maria',text:prompt('Message','Oi!')})">Inbound…</button>
  <button onclick="act('${provider}','${n}','fault',{mode:'unreachable'})" title="The next start never reaches WhatsApp, as on an offline server">WhatsApp unreachable</button>
  <button onclick="act('${provider}','${n}','fault',{mode:null})">Reachable again</button></td></tr>`;
}
async function load() {
  const d = await (await fetch(`${base}/instances`)).json();
  document.getElementById("rows").innerHTML = d.evolution.map(i => row("evolution", i)).join("") + d.wppconnect.map(i => row("wppconnect", i)).join("");
}
load(); setInterval(load, 2000);
</script></body></html>
""".Replace("__BASE__", basePath);
}
