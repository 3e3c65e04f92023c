#!/bin/bash
# bash-loop.sh: the operators' failover loop from the runbook (shared/runbook/active-standby-guide.md,
# "Failover Script"), kept line for line; only the hosts, paths and commands are parameters so that it runs
# against the bench's local topology. bench/run.py times it next to blfailoverd.
#
# Parameters (environment; the runbook's values in brackets):
#   ACTIVE_API, STANDBY_API    base URLs                         [http://active_api:8080, http://standby_api:8080]
#   FAILOVER_THRESHOLD         [3]            CHECK_INTERVAL     seconds [10]
#   SITE                       the nginx site file               [/etc/nginx/sites-available/blacklake]
#   ACTIVE_SERVER, STANDBY_SERVER   the text sed replaces        [active_api:8080, standby_api:8080]
#   NGINX                      nginx command (prefix flags go in NGINX_ARGS)   [nginx]
#   SSH                        ssh command with its options and destination     [ssh standby_db]
#   TRIGGER                    PostgreSQL's trigger file on the standby host    [/tmp/postgresql.trigger]
#   COMPOSE                    compose command               [docker-compose]
#   COMPOSE_FILE               [docker-compose.standby.yml]
# Like the runbook: no curl timeout (a hung /health blocks the loop), sed instead of a parser, no nginx -t,
# nginx reloaded before the database is promoted, no record of a failover.

ACTIVE_API="${ACTIVE_API:-http://active_api:8080}"
STANDBY_API="${STANDBY_API:-http://standby_api:8080}"
FAILOVER_THRESHOLD="${FAILOVER_THRESHOLD:-3}"
CHECK_INTERVAL="${CHECK_INTERVAL:-10}"
SITE="${SITE:-/etc/nginx/sites-available/blacklake}"
ACTIVE_SERVER="${ACTIVE_SERVER:-active_api:8080}"
STANDBY_SERVER="${STANDBY_SERVER:-standby_api:8080}"
NGINX="${NGINX:-nginx}"
NGINX_ARGS="${NGINX_ARGS:-}"
SSH="${SSH:-ssh standby_db}"
TRIGGER="${TRIGGER:-/tmp/postgresql.trigger}"
COMPOSE="${COMPOSE:-docker-compose}"
COMPOSE_FILE="${COMPOSE_FILE:-docker-compose.standby.yml}"

check_health() {
    local api_url=$1
    curl -f -s "$api_url/health" > /dev/null
    return $?
}

failover() {
    echo "Initiating failover to standby server..."

    # Update load balancer configuration
    sed -i "s/server $ACTIVE_SERVER/server $STANDBY_SERVER/" "$SITE"
    $NGINX -s reload $NGINX_ARGS

    # Promote standby database
    $SSH "touch $TRIGGER"

    # Update API configurations
    $COMPOSE -f "$COMPOSE_FILE" up -d

    echo "Failover completed"
}

# Main monitoring loop
failure_count=0
while true; do
    if ! check_health $ACTIVE_API; then
        failure_count=$((failure_count + 1))
        echo "Health check failed. Count: $failure_count"

        if [ $failure_count -ge $FAILOVER_THRESHOLD ]; then
            failover
            break
        fi
    else
        failure_count=0
    fi

    sleep $CHECK_INTERVAL
done
