#!/usr/bin/env node
import "../dist/src/cli/rewind-img.js";
