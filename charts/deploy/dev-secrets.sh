#!/bin/sh
# Create the Secrets the kustomize dev overlay expects, once, with random passwords:
#   animerec-postgres: password (bundled PostgreSQL) and url (what the services use)
#   animerec-redis:    password (bundled Redis) and url
#   animerec-api-feedback: feedback-secret (the key every API replica signs feedback tokens with)
# Existing Secrets are left alone. Usage: charts/deploy/dev-secrets.sh [namespace]
set -eu
ns="${1:-animerec}"
kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
random() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
if ! kubectl -n "$ns" get secret animerec-postgres >/dev/null 2>&1; then
  pw="$(random)"
  kubectl -n "$ns" create secret generic animerec-postgres --from-literal=password="$pw" \
    --from-literal=url="postgresql://animerec:${pw}@animerec-postgresql.${ns}.svc:5432/animerec"
fi
if ! kubectl -n "$ns" get secret animerec-redis >/dev/null 2>&1; then
  pw="$(random)"
  kubectl -n "$ns" create secret generic animerec-redis --from-literal=password="$pw" \
    --from-literal=url="redis://:${pw}@animerec-redis.${ns}.svc:6379/0"
fi
if ! kubectl -n "$ns" get secret animerec-api-feedback >/dev/null 2>&1; then
  kubectl -n "$ns" create secret generic animerec-api-feedback --from-literal=feedback-secret="$(random)"
fi
