/*
 * server/reviews.h - the review kinds that are answered, never stored:
 * TokenReview and SelfSubjectReview (authentication.k8s.io/v1),
 * SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectAccessReview and
 * SelfSubjectRulesReview (authorization.k8s.io/v1). `kubectl auth can-i` and
 * `kubectl auth whoami` use them.
 */
#ifndef K1S_SERVER_REVIEWS_H
#define K1S_SERVER_REVIEWS_H

#include "registry.h"

extern const struct resource_hooks review_token_hooks;
extern const struct resource_hooks review_self_hooks;
extern const struct resource_hooks review_access_hooks;
extern const struct resource_hooks review_self_access_hooks;
extern const struct resource_hooks review_rules_hooks;

#endif
