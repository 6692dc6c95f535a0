/* server/controllers/deployment.c - placeholder, filled next */
#include "ctrl_priv.h"
void deploy__start(struct ctrl_manager *m) { (void)m; }
