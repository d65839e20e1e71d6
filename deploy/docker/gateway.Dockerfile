# syntax=docker/dockerfile:1
# The standalone gateway: webhooks, admin API, dashboard; an Orleans client of the PostgreSQL cluster, holding no state.
#   docker build -f deploy/docker/gateway.Dockerfile -t builtiful/gateway .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Builtiful.Abstractions/Builtiful.Abstractions.csproj src/Builtiful.Abstractions/
COPY src/Builtiful.Gateway/Builtiful.Gateway.csproj src/Builtiful.Gateway/
COPY src/Builtiful.Gateway.Host/Builtiful.Gateway.Host.csproj src/Builtiful.Gateway.Host/
RUN dotnet restore src/Builtiful.Gateway.Host/Builtiful.Gateway.Host.csproj
COPY src/Builtiful.Abstractions/ src/Builtiful.Abstractions/
COPY src/Builtiful.Gateway/ src/Builtiful.Gateway/
COPY src/Builtiful.Gateway.Host/ src/Builtiful.Gateway.Host/
RUN dotnet publish src/Builtiful.Gateway.Host/Builtiful.Gateway.Host.csproj --no-restore -c Release -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
ENV ASPNETCORE_URLS=http://+:8080 \
    TMPDIR=/tmp
EXPOSE 8080
USER $APP_UID
ENTRYPOINT ["dotnet", "Builtiful.Gateway.Host.dll"]
