#include "../../rdm/helpers.c"
