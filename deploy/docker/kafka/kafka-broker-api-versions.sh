#!/bin/sh
# The apache/kafka image's tool of this name, which docker-compose.yml's
# health check runs: answers only when a broker serves requests.
exec java -Xmx64m -XX:TieredStopAtLevel=1 -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties \
  -cp '/opt/kafka/libs/*' kafka.admin.BrokerApiVersionsCommand "$@"
