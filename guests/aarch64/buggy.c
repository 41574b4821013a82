/*
 * buggy - a tiny inventory program with a real memory-corruption bug, for the
 * reverse-debugging demo. Built with -O0 -g so every variable lives in memory.
 *
 * THE BUG
 *   copy_name() copies a name into a fixed 8-byte field and then terminates it with
 *   `dst[i] = '\0';` (the line marked "BUG" below, line 60). Its loop stops at
 *   i == NAME_SIZE, so a name with 8 or more characters gets its terminator written one
 *   byte past the end of the field. `name` is the last member of struct item, so that
 *   byte is the first byte of the *next* item in the array: the low byte (the CPU is
 *   little-endian) of its `id`.
 *   main() renames item 2 to "cucumber" (exactly 8 characters), which zeroes the low
 *   byte of inventory[3].id: 1004 (0x3ec) becomes 768 (0x300). The report at the end
 *   then shows the wrong id for "damson", and check_inventory() notices.
 *   (The fix: loop while i < NAME_SIZE - 1.)
 *
 * VARIABLE TO WATCH: inventory[3].id
 * FAULTY STORE:      copy_name(), buggy.c:60, `dst[i] = '\0';`
 *
 * The reverse-debugging session (see README.md):
 *   (gdb) break check_inventory
 *   (gdb) continue                     # runs to the check, after the damage is done
 *   (gdb) watch inventory[3].id
 *   (gdb) reverse-continue             # stops in copy_name(), right after the BUG store
 *   (gdb) backtrace                    # copy_name <- rename_item <- main
 *   (gdb) x/i $pc - 4                  # strb wzr, [x0]: the store itself
 * Like a forward watchpoint, the stop is reported after the store has executed; the
 * store is the last instruction of line 60, so GDB shows line 61 (copy_name's closing
 * brace) with i == 8.
 *
 * Expected output:
 *   inventory:
 *     #0 id 1001 qty  12 apple
 *     #1 id 1002 qty   7 banana
 *     #2 id 1003 qty  30 cucumber
 *     #3 id  768 qty   3 damson
 *   check: item 3 has id 768, expected 1004: memory corruption!
 */
#include "lib.h"

#define NAME_SIZE  8            /* bytes in item.name, including the terminating NUL */
#define ITEMS      4
#define FIRST_ID   1001

struct item {
    uint32_t id;
    uint32_t qty;
    char name[NAME_SIZE];       /* last member: whatever follows it in memory is the next item */
};

struct item inventory[ITEMS];

/* Copies `src` into the fixed-size field `dst`, truncating it if it is too long. */
static void copy_name(char *dst, const char *src)
{
    int i;
    for (i = 0; i < NAME_SIZE && src[i] != '\0'; i++)
        dst[i] = src[i];
    /* With an 8-character name the loop ends with i == NAME_SIZE: one past the end. */
    dst[i] = '\0'; /* BUG: writes dst[NAME_SIZE] when the name fills the field */
}

static void add_item(int slot, uint32_t qty, const char *name)
{
    struct item *it = &inventory[slot];
    it->id = FIRST_ID + slot;
    it->qty = qty;
    copy_name(it->name, name);
}

static void rename_item(int slot, const char *name)
{
    copy_name(inventory[slot].name, name);
}

static void print_inventory(void)
{
    print("inventory:\n");
    for (int i = 0; i < ITEMS; i++)
        printf("  #%d id %4u qty %3u %s\n", i, inventory[i].id, inventory[i].qty,
               inventory[i].name);
}

/* Every id should still be the one add_item() gave it. */
static int check_inventory(void)
{
    int bad = 0;
    for (int i = 0; i < ITEMS; i++) {
        uint32_t expected = FIRST_ID + i;
        if (inventory[i].id != expected) {
            printf("check: item %d has id %u, expected %u: memory corruption!\n", i,
                   inventory[i].id, expected);
            bad++;
        }
    }
    if (!bad)
        print("check: all ids intact\n");
    return bad;
}

int main(void)
{
    add_item(0, 12, "apple");
    add_item(1, 7, "banana");
    add_item(2, 30, "cherry");
    add_item(3, 3, "damson");

    /* A name change. "cucumber" has exactly NAME_SIZE characters: this is what goes wrong. */
    rename_item(2, "cucumber");

    print_inventory();
    check_inventory();
    /* The demo program itself "succeeds": the bug is for the debugger to find. */
    return EXIT_OK;
}
