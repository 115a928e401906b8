global using Xunit;

[assembly: AssemblyFixture(typeof(Outbox.Tests.Infrastructure.PostgresServer))]
