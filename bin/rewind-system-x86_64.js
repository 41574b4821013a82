#!/usr/bin/env node
import { systemMain } from "../dist/src/cli/system-main.js";

process.exitCode = await systemMain(process.argv.slice(2), "x86_64");
