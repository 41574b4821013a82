// `npm run bench`: every benchmark, printed. Pass names to run some: `npm run bench -- mips record reverse`;
// `quick` uses the small compute guest (and shallower reverse depths).
import { benchMips, printMips } from "./mips.js";
import { benchRecord } from "./record.js";
import { benchReverse } from "./reverse.js";
import { benchReverseParallel } from "./reverse-parallel.js";
import { benchX86 } from "./x86.js";
import { benchLinux } from "./linux.js";

const only = new Set(process.argv.slice(2));
only.delete("quick");
const quick = process.argv.includes("quick");
const want = (name: string) => only.size === 0 || only.has(name);
const guest = quick ? "compute-small.elf" : "compute.elf";

if (want("mips")) printMips(benchMips(guest));
if (want("record")) await benchRecord(guest);
// Reverse debugging needs depths up to 1e9: compute-long runs ~1e9 instructions.
if (want("reverse")) await benchReverse(quick ? guest : "compute-long.elf", quick ? [1e4, 1e6] : [1e4, 1e6, 1e8, 1e9]);
if (want("parallel")) await benchReverseParallel(guest);
if (want("x86")) await benchX86();
if (want("linux")) await benchLinux();
