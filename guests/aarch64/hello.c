/*
 * hello - the smallest demo: greets, says where and on what it runs, powers off.
 *
 * Expected output on QEMU's virt board (-cpu cortex-a53, 128 MiB, ELF kernel):
 *   Hello from Rewind guest!
 *   CurrentEL: EL1  MIDR_EL1: 0x410fd034 (implementer 0x41, part 0xd03, r0p4)
 *   device tree: at 0x40000000 (base of RAM), x0 = 0x0
 *   memory: 128 MiB at 0x40000000
 *   PSCI method: hvc
 *   Bye.
 * Booted as a raw Image (hello.bin) the device tree line says where x0 points instead.
 */
#include "lib.h"

/* ---- A minimal read-only flattened device tree walker (devicetree.org spec, ch. 5) ---- */

#define FDT_MAGIC       0xd00dfeedu
#define FDT_BEGIN_NODE  1
#define FDT_END_NODE    2
#define FDT_PROP        3
#define FDT_NOP         4
#define FDT_END         9

/* The tree is big-endian; the CPU is little-endian. */
static uint32_t be32(const void *p) { return __builtin_bswap32(*(const uint32_t *)p); }

static const uint8_t *fdt_at(uint64_t addr)
{
    if (addr == 0 || addr & 7)
        return NULL;
    const uint8_t *fdt = (const uint8_t *)(uintptr_t)addr;
    return be32(fdt) == FDT_MAGIC ? fdt : NULL;
}

/* Does node name `name` ("memory@40000000") match `want` ("memory"), ignoring the unit address? */
static int node_matches(const char *name, const char *want)
{
    while (*want && *name == *want)
        name++, want++;
    return *want == '\0' && (*name == '\0' || *name == '@');
}

/*
 * Finds property `prop` of a node that is a direct child of the root and named `node`
 * (or of the root itself when `node` is ""). Returns its value and stores its length,
 * or returns NULL.
 */
static const uint8_t *fdt_get_prop(const uint8_t *fdt, const char *node, const char *prop,
                                   uint32_t *len)
{
    const uint8_t *p = fdt + be32(fdt + 8);        /* off_dt_struct */
    const char *strings = (const char *)fdt + be32(fdt + 12); /* off_dt_strings */
    int depth = 0, in_node = 0;

    for (;;) {
        uint32_t token = be32(p);
        p += 4;
        switch (token) {
        case FDT_BEGIN_NODE: {
            const char *name = (const char *)p;
            depth++;
            in_node = (depth == 1 && node[0] == '\0') || (depth == 2 && node_matches(name, node));
            p += (strlen(name) + 1 + 3) & ~3u;
            break;
        }
        case FDT_END_NODE:
            depth--;
            in_node = 0;
            break;
        case FDT_PROP: {
            uint32_t plen = be32(p), name_off = be32(p + 4);
            const uint8_t *value = p + 8;
            if (in_node && strcmp(strings + name_off, prop) == 0) {
                *len = plen;
                return value;
            }
            p = value + ((plen + 3) & ~3u);
            break;
        }
        case FDT_NOP:
            break;
        default: /* FDT_END or something malformed */
            return NULL;
        }
    }
}

/* Reads a number made of `cells` 32-bit big-endian cells. */
static uint64_t fdt_cells(const uint8_t *p, uint32_t cells)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < cells; i++)
        v = (v << 32) | be32(p + 4 * i);
    return v;
}

static void describe_device_tree(void)
{
    const uint8_t *fdt = fdt_at(boot_x0);
    const char *where = "passed in x0";
    if (!fdt) {
        fdt = fdt_at(VIRT_RAM_BASE);
        where = "base of RAM";
    }
    if (!fdt) {
        printf("device tree: none found (x0 = 0x%lx)\n", boot_x0);
        return;
    }
    printf("device tree: at %p (%s), x0 = 0x%lx\n", fdt, where, boot_x0);

    uint32_t len, addr_cells = 2, size_cells = 1;
    const uint8_t *v;
    if ((v = fdt_get_prop(fdt, "", "#address-cells", &len)) && len == 4)
        addr_cells = be32(v);
    if ((v = fdt_get_prop(fdt, "", "#size-cells", &len)) && len == 4)
        size_cells = be32(v);
    if ((v = fdt_get_prop(fdt, "memory", "reg", &len)) && len >= 4 * (addr_cells + size_cells)) {
        uint64_t base = fdt_cells(v, addr_cells);
        uint64_t size = fdt_cells(v + 4 * addr_cells, size_cells);
        printf("memory: %lu MiB at 0x%lx\n", size >> 20, base);
    }
    if ((v = fdt_get_prop(fdt, "psci", "method", &len)))
        printf("PSCI method: %s\n", (const char *)v);
}

int main(void)
{
    print("Hello from Rewind guest!\n");

    uint64_t el = (read_sysreg(CurrentEL) >> 2) & 3;
    uint64_t midr = read_sysreg(midr_el1);
    printf("CurrentEL: EL%lu  MIDR_EL1: 0x%08lx (implementer 0x%02lx, part 0x%03lx, r%lup%lu)\n",
           el, midr, midr >> 24, (midr >> 4) & 0xfff, (midr >> 20) & 0xf, midr & 0xf);

    describe_device_tree();

    print("Bye.\n");
    return EXIT_OK;
}
