# syntax=docker/dockerfile:1
# The standalone gateway: webhooks, admin API, dashboard; an Orleans client of the PostgreSQL cluster, holding no state.
#   docker build -f deploy/docker/gateway.Dockerfile -t builtiful/gateway .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# ReadyToRun code is per architecture: the image's (docker buildx sets TARGETARCH; a plain docker build, the host's).
ARG TARGETARCH
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Builtiful.Abstractions/Builtiful.Abstractions.csproj src/Builtiful.Abstractions/
COPY src/Builtiful.GitHub/Builtiful.GitHub.csproj src/Builtiful.GitHub/
COPY src/Builtiful.Gateway/Builtiful.Gateway.csproj src/Builtiful.Gateway/
COPY src/Builtiful.Hosting/Builtiful.Hosting.csproj src/Builtiful.Hosting/
COPY src/Builtiful.Gateway.Host/Builtiful.Gateway.Host.csproj src/Builtiful.Gateway.Host/
RUN RID=linux-$(case "${TARGETARCH:-$(dpkg --print-architecture)}" in arm64) echo arm64;; *) echo x64;; esac) \
 && echo "$RID" > /tmp/rid \
 && dotnet restore src/Builtiful.Gateway.Host/Builtiful.Gateway.Host.csproj -r "$RID" -p:PublishReadyToRun=true
COPY src/Builtiful.Abstractions/ src/Builtiful.Abstractions/
COPY src/Builtiful.GitHub/ src/Builtiful.GitHub/
COPY src/Builtiful.Gateway/ src/Builtiful.Gateway/
COPY src/Builtiful.Hosting/ src/Builtiful.Hosting/
COPY src/Builtiful.Gateway.Host/ src/Builtiful.Gateway.Host/
# ReadyToRun (Crossgen2, restored with the packages): the assemblies carry native code, so a new process serves its
# first requests without compiling tier-0 code first. Hot methods are still re-compiled at tier 1 under load (with
# dynamic PGO, the runtime default); see docs/performance.md, "Warm-up", for what that leaves.
RUN dotnet publish src/Builtiful.Gateway.Host/Builtiful.Gateway.Host.csproj --no-restore -c Release -r "$(cat /tmp/rid)" --self-contained false \
    -p:PublishReadyToRun=true -p:UseAppHost=false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
# 8080: webhooks, admin API, dashboard (public). 9464: /metrics, /healthz, /readyz (management, inside the cluster).
ENV ASPNETCORE_URLS=http://+:8080 \
    Management__Port=9464 \
    TMPDIR=/tmp
EXPOSE 8080 9464
USER $APP_UID
ENTRYPOINT ["dotnet", "Builtiful.Gateway.Host.dll"]
