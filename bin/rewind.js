#!/usr/bin/env node
import { rewindMain } from "../dist/src/cli/rewind.js";

process.exitCode = rewindMain(process.argv.slice(2));
