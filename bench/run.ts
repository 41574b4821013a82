// `npm run bench`: every benchmark, printed. Pass names to run some: `npm run bench -- mips`.
import { benchMips, printMips } from "./mips.js";
import { benchReverse } from "./reverse.js";

const only = new Set(process.argv.slice(2));
const want = (name: string) => only.size === 0 || only.has(name);

if (want("mips")) printMips(benchMips(only.has("quick") ? "compute-small.elf" : "compute.elf"));
if (want("reverse")) await benchReverse(only.has("quick") ? "compute-small.elf" : "compute.elf", only.has("quick") ? [1e4, 1e6] : [1e4, 1e6, 1e8]);
