# syntax=docker/dockerfile:1
# The silo (and the all-in-one, and `migrate` / `rotate-keys`). Build from the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t builtiful/silo .
# The image runs as a non-root user, writes nothing outside /tmp, and so runs with a read-only root file system.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project files first: the restore layer is reused until a dependency changes.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Builtiful.Abstractions/Builtiful.Abstractions.csproj src/Builtiful.Abstractions/
COPY src/Builtiful.Grains/Builtiful.Grains.csproj src/Builtiful.Grains/
COPY src/Builtiful.Simulation/Builtiful.Simulation.csproj src/Builtiful.Simulation/
COPY src/Builtiful.Gateway/Builtiful.Gateway.csproj src/Builtiful.Gateway/
COPY src/Builtiful.Postgres/Builtiful.Postgres.csproj src/Builtiful.Postgres/
COPY src/Builtiful.GitHub/Builtiful.GitHub.csproj src/Builtiful.GitHub/
COPY src/Builtiful.Compute.Ec2/Builtiful.Compute.Ec2.csproj src/Builtiful.Compute.Ec2/
COPY src/Builtiful.Silo/Builtiful.Silo.csproj src/Builtiful.Silo/
RUN dotnet restore src/Builtiful.Silo/Builtiful.Silo.csproj
COPY src/ src/
# The migrator embeds the schema scripts from deploy/postgres.
COPY deploy/postgres/migrations/ deploy/postgres/migrations/
RUN dotnet publish src/Builtiful.Silo/Builtiful.Silo.csproj --no-restore -c Release -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
# 8080: webhooks, admin API, /healthz, /readyz, /metrics. 11111: silo-to-silo. 30000: Orleans clients (gateways).
ENV ASPNETCORE_URLS=http://+:8080 \
    Orleans__SiloPort=11111 \
    Orleans__GatewayPort=30000 \
    DOTNET_gcServer=1 \
    TMPDIR=/tmp
EXPOSE 8080 11111 30000
# The aspnet images define the unprivileged user app (uid 1654) as APP_UID.
USER $APP_UID
ENTRYPOINT ["dotnet", "Builtiful.Silo.dll"]
