#!/usr/bin/env node
'use strict';
// The `shmkit` command. This launcher is committed (not built) so that npm can link the bin on the
// very first install, before `dist/` exists; the command itself is lib/cli/shmkit.ts.
require('../dist/cli/shmkit.js');
