#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through `prepare`).
import("../dist/cli.js").then((cli) => cli.main(process.argv.slice(2)));
