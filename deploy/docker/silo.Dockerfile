# syntax=docker/dockerfile:1
# The production silo (and its `migrate` / `rotate-keys`): no gateway, no simulation. Build from the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t builtiful/silo .
# The image runs as a non-root user, writes nothing outside /tmp, and so runs with a read-only root file system.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# ReadyToRun code is per architecture: the image's (docker buildx sets TARGETARCH; a plain docker build, the host's).
ARG TARGETARCH
WORKDIR /src
# Project files first: the restore layer is reused until a dependency changes.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Builtiful.Abstractions/Builtiful.Abstractions.csproj src/Builtiful.Abstractions/
COPY src/Builtiful.Grains/Builtiful.Grains.csproj src/Builtiful.Grains/
COPY src/Builtiful.Hosting/Builtiful.Hosting.csproj src/Builtiful.Hosting/
COPY src/Builtiful.Postgres/Builtiful.Postgres.csproj src/Builtiful.Postgres/
COPY src/Builtiful.GitHub/Builtiful.GitHub.csproj src/Builtiful.GitHub/
COPY src/Builtiful.Compute.Ec2/Builtiful.Compute.Ec2.csproj src/Builtiful.Compute.Ec2/
COPY src/Builtiful.Silo/Builtiful.Silo.csproj src/Builtiful.Silo/
RUN RID=linux-$(case "${TARGETARCH:-$(dpkg --print-architecture)}" in arm64) echo arm64;; *) echo x64;; esac) \
 && echo "$RID" > /tmp/rid \
 && dotnet restore src/Builtiful.Silo/Builtiful.Silo.csproj -r "$RID" -p:PublishReadyToRun=true
COPY src/ src/
# The migrator embeds the schema scripts from deploy/postgres.
COPY deploy/postgres/migrations/ deploy/postgres/migrations/
# ReadyToRun (Crossgen2, restored with the packages): the assemblies carry native code, so a new process serves its
# first requests without compiling tier-0 code first. Hot methods are still re-compiled at tier 1 under load (with
# dynamic PGO, the runtime default); see docs/performance.md, "Warm-up", for what that leaves.
RUN dotnet publish src/Builtiful.Silo/Builtiful.Silo.csproj --no-restore -c Release -r "$(cat /tmp/rid)" --self-contained false \
    -p:PublishReadyToRun=true -p:UseAppHost=false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
# 9464: /metrics, /healthz, /readyz (the management port; the silo serves no other HTTP). 11111: silo-to-silo.
# 30000: Orleans clients (gateways). Both Orleans ports speak mutual TLS: mount the cluster certificate and set
# Orleans__Tls__CertificatePath and Orleans__Tls__Password.
ENV Management__Port=9464 \
    Orleans__SiloPort=11111 \
    Orleans__GatewayPort=30000 \
    DOTNET_gcServer=1 \
    TMPDIR=/tmp
EXPOSE 9464 11111 30000
# The aspnet images define the unprivileged user app (uid 1654) as APP_UID.
USER $APP_UID
ENTRYPOINT ["dotnet", "Builtiful.Silo.dll"]
