#!/bin/sh
# Call Parley's MiroTalk-compatible API with curl, as MiroTalk SFU's examples do.
# Usage: API_KEY_SECRET=... BASE_URL=http://127.0.0.1:8080 ./mirotalk_client.sh
set -eu
BASE_URL="${BASE_URL:-http://127.0.0.1:8080}"

curl -sS --fail-with-body -X POST "$BASE_URL/api/v1/meeting" \
    -H "authorization: $API_KEY_SECRET" -H "Content-Type: application/json"
echo
curl -sS --fail-with-body -X POST "$BASE_URL/api/v1/join" \
    -H "Authorization: $API_KEY_SECRET" -H "Content-Type: application/json" \
    -d '{
        "room": "test",
        "roomPassword": false,
        "name": "mirotalksfu",
        "audio": false,
        "video": false,
        "notify": true,
        "duration": "unlimited",
        "token": {"username": "username", "password": "password",
                  "presenter": true, "expire": "1h"}
    }'
echo
curl -sS --fail-with-body "$BASE_URL/api/v1/stats" \
    --header "authorization: $API_KEY_SECRET" \
    --header "Content-Type: application/json" --request GET
echo
