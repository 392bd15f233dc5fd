#!/usr/bin/env node
// The `slotraft` command: the compiled composition root does the work.
import '../dist/src/main.js';
