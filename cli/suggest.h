/* cli/suggest.h: "did you mean" support: the edit distance between two words.
 *
 * Owns: the Levenshtein distance (insert, delete, substitute, and swap of two neighbours,
 * so "stauts" is one step from "status"). Must never allocate for words under 64 bytes.
 */
#pragma once

#include <stddef.h>

/* Optimal string alignment distance; words longer than 63 bytes count as far (SIZE_MAX). */
size_t edit_distance(const char *a, const char *b);
