// Apache 2.4 + mod_python 3.5 from Debian, as the issue measures it: prefork with 32 children and
// Apache's default keep-alive (100 requests per connection, 5 s), the workloads as mod_python
// handlers (mod_python/handlers.py) and the static file from Apache's core. Its own config in a
// temp folder, on a loopback port, in the foreground; no system service is touched.
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "../common.js";
import { ensurePackages } from "../install.js";
import { startDaemon, stopServer } from "../proc.js";
import { STATIC_FILE } from "../workloads.js";
import { WEB_USER, answers200, asRoot, copyInto, freePort, sharedDir } from "./common.js";

const MODULES = "/usr/lib/apache2/modules";
const APACHE = "/usr/sbin/apache2";
const CHILDREN = 32;

export function ensureApache() {
  ensurePackages([
    { pkg: "apache2", present: () => fs.existsSync(APACHE) },
    {
      pkg: "libapache2-mod-python",
      present: () => fs.existsSync(path.join(MODULES, "mod_python.so")),
    },
  ]);
}

function config(dir, port) {
  const handlers = { "/": "hello", "/api/items": "items", "/page": "page", "/api/echo": "echo" };
  const locations = Object.entries(handlers)
    .map(
      ([url, fn]) => `<LocationMatch "^${url}$">
  SetHandler mod_python
  PythonHandler handlers::${fn}
</LocationMatch>`,
    )
    .join("\n");
  return `# Written by bench/anchors/apache.js
ServerRoot "${dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile "${dir}/apache.pid"
DefaultRuntimeDir "${dir}"
ErrorLog "${dir}/error.log"
LogLevel warn
${asRoot() ? `User ${WEB_USER}\nGroup ${WEB_USER}` : ""}

LoadModule mpm_prefork_module ${MODULES}/mod_mpm_prefork.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule mime_module ${MODULES}/mod_mime.so
LoadModule python_module ${MODULES}/mod_python.so

StartServers ${CHILDREN}
MinSpareServers ${CHILDREN}
MaxSpareServers ${CHILDREN}
ServerLimit ${CHILDREN}
MaxRequestWorkers ${CHILDREN}
MaxConnectionsPerChild 0
# Apache's defaults, spelled out: the issue measures them.
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5

TypesConfig /etc/mime.types
AddDefaultCharset utf-8
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
CustomLog "${dir}/access.log" combined

DocumentRoot "${dir}/htdocs"
<Directory />
  AllowOverride None
  Require all granted
</Directory>

# mod_python's advice for production: do not stat the handler module on every request.
PythonAutoReload Off
PythonOption mod_python.mutex_directory "${dir}"
PythonPath "sys.path + ['${dir}/py']"
${locations}
`;
}

export async function startApache(ctx) {
  ensureApache();
  const dir = sharedDir(ctx.tmp, "apache");
  copyInto(dir, {
    "htdocs/style.css": STATIC_FILE,
    "py/handlers.py": path.join(ROOT, "bench/anchors/mod_python/handlers.py"),
  });
  const port = await freePort();
  fs.writeFileSync(path.join(dir, "httpd.conf"), config(dir, port));
  const server = await startDaemon({
    label: "Apache + mod_python",
    command: APACHE,
    args: ["-f", path.join(dir, "httpd.conf"), "-DFOREGROUND"],
    logFile: path.join(dir, "stdout.log"),
    env: { ...process.env, LANG: "C" },
    ready: () => answers200(`http://127.0.0.1:${port}/`),
  });
  return {
    url: `http://127.0.0.1:${port}`,
    roots: () => [server.child.pid],
    stop: () => stopServer(server),
    errorLog: path.join(dir, "error.log"),
  };
}
