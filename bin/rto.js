#!/usr/bin/env node
// The `rto` command. In a checkout (src/ present) it runs the TypeScript directly through tsx; an installed
// build (dist/ only, e.g. the Docker image) runs the compiled JavaScript.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
const src = path.join(root, 'src', 'cli', 'main.ts');
if (fs.existsSync(src) && !process.env.RTO_USE_DIST) {
  require('tsx/cjs');
  require(src).main(process.argv.slice(2));
} else {
  require(path.join(root, 'dist', 'cli', 'main.js')).main(process.argv.slice(2));
}
