#include "../rust/rdm/helpers.c"
