#!/usr/bin/env node
import { rewindMain } from "../dist/src/cli/rewind.js";

process.exitCode = await rewindMain(process.argv.slice(2));
