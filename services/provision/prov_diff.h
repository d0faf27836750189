/* Scenario diff: what changed between two versions of one scenario
 * document, node by node. Pure (no I/O), so tests drive it directly. */
#ifndef PROV_DIFF_H
#define PROV_DIFF_H

/* Writes the difference from a to b (two scenario documents, JSON text)
 * into *textp, malloc'd, one line per fact, the same for the same input:
 *
 *   --- <a_label>
 *   +++ <b_label>
 *   start: "g" -> "menu"
 *   description: "old" -> "new"        (any other top-level field)
 *   - node <id> <old JSON>             (removed, ids sorted)
 *   + node <id> <new JSON>             (added)
 *   ~ node <id>: <what> changed        (changed: type, options, ...)
 *     - <old JSON>
 *     + <new JSON>
 *   N added, N removed, N changed      (or "no changes")
 *
 * JSON is compact with sorted keys. Returns 0, -EINVAL when a or b is not
 * a JSON object (*textp untouched), -ENOMEM. */
int prov_diff_text(char **textp, const char *a, const char *b,
		   const char *a_label, const char *b_label);

#endif
