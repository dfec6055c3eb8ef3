#include "../helpers.c"
