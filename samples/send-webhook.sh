#!/usr/bin/env bash
# Sends a payload to Builtiful signed the way GitHub signs deliveries (HMAC-SHA256 of the raw body).
# usage: samples/send-webhook.sh <event> <payload.json> [url]
# The secret comes from GITHUB_WEBHOOK_SECRET (the value Builtiful printed as GitHub__WebhookSecret).
set -euo pipefail
event=${1:?usage: send-webhook.sh <event> <payload.json> [url]}
payload=${2:?usage: send-webhook.sh <event> <payload.json> [url]}
url=${3:-http://localhost:5000/api/github/webhooks}
secret=${GITHUB_WEBHOOK_SECRET:?set GITHUB_WEBHOOK_SECRET to the webhook secret Builtiful uses}
signature="sha256=$(openssl dgst -sha256 -hmac "$secret" -r < "$payload" | cut -d' ' -f1)"
curl -sS -X POST "$url" \
  -H "Content-Type: application/json" \
  -H "X-GitHub-Event: $event" \
  -H "X-GitHub-Delivery: $(cat /proc/sys/kernel/random/uuid 2>/dev/null || date +%s%N)" \
  -H "X-Hub-Signature-256: $signature" \
  --data-binary "@$payload" \
  -w '\nHTTP %{http_code}\n'
