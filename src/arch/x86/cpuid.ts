// CPUID as QEMU's default x86-64 model, qemu64, reports it (QEMU 7.2 with TCG): the leaves guests/x86/hello.bin
// prints, which its test compares with qemu-system-x86_64's output. Other leaves read as zero for now.

/** CPUID.1:EAX, also EDX after reset. */
export const QEMU64_SIGNATURE = 0x00060fb1;

/** [eax, ebx, ecx, edx] by leaf (sub-leaf 0). */
const LEAVES: ReadonlyMap<number, readonly [number, number, number, number]> = new Map([
  [0x0, [0x0000000d, 0x68747541, 0x444d4163, 0x69746e65]], // max leaf 0xd, "AuthenticAMD"
  [0x1, [QEMU64_SIGNATURE, 0x00000800, 0x80002001, 0x078bfbfd]], // SSE3 CX16 hypervisor; FPU ... SSE SSE2
  // QEMU's TCG hypervisor leaves: "TCGTCGTCGTCG", and 0x40000001 as the highest (SeaBIOS probes them for Xen/KVM).
  [0x40000000, [0x40000001, 0x54474354, 0x43544743, 0x47435447]],
  [0x80000000, [0x8000000a, 0x68747541, 0x444d4163, 0x69746e65]],
  [0x80000001, [QEMU64_SIGNATURE, 0x00000000, 0x00000005, 0x2193fbfd]], // LAHF SVM; SYSCALL NX LM
  [0x80000008, [0x00003028, 0x00000000, 0x00000000, 0x00000000]], // 40 physical, 48 virtual address bits (SeaBIOS sizes MTRR masks by it)
]);

/** EAX, EBX, ECX, EDX for a leaf (sub-leaf 0). */
export function cpuidLeaf(leaf: number): readonly [number, number, number, number] {
  return LEAVES.get(leaf >>> 0) ?? ZERO;
}

const ZERO = [0, 0, 0, 0] as const;
