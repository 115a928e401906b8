using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Outbox.Tests.Infrastructure;

/// <summary>A throwaway CA and server certificates for localhost, made fresh for each test run.</summary>
public static class TestCertificates
{
    private static readonly Lazy<X509Certificate2> LazyCa = new(() => CreateCa("Outbox Test CA"));
    private static readonly Lazy<X509Certificate2> LazyOtherCa = new(() => CreateCa("Somebody Else's CA"));
    private static readonly Lazy<string> LazyCaFile = new(() => WritePem(Ca));

    public static X509Certificate2 Ca => LazyCa.Value;

    /// <summary>A PEM file holding only the test CA: what Outbox:Smtp:CaFile points at.</summary>
    public static string CaFile => LazyCaFile.Value;

    /// <summary>A server certificate for localhost / 127.0.0.1 issued by <see cref="Ca"/>.</summary>
    public static X509Certificate2 Server() => Issue(Ca, "localhost", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

    /// <summary>Issued by the test CA for another host name.</summary>
    public static X509Certificate2 ServerNamed(string host) => Issue(Ca, host, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), ipAddress: false);

    /// <summary>Issued by the test CA, but expired yesterday.</summary>
    public static X509Certificate2 ExpiredServer() => Issue(Ca, "localhost", DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));

    /// <summary>Issued by a CA that nobody configured.</summary>
    public static X509Certificate2 ServerFromUnknownCa() => Issue(LazyOtherCa.Value, "localhost", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

    /// <summary>An application's own certificate (self-signed, with its key), as an Entra app registration holds it.</summary>
    public static X509Certificate2 ClientApplication()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=outbox-app", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    public static string WritePem(X509Certificate2 certificate)
    {
        var path = Path.Combine(Path.GetTempPath(), $"outbox-test-ca-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, certificate.ExportCertificatePem());
        // Read by tests until the run ends: removed with the test process, not before.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(path);
        return path;
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddYears(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string host, DateTimeOffset notBefore, DateTimeOffset notAfter, bool ipAddress = true)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        if (ipAddress)
        {
            names.AddIpAddress(IPAddress.Loopback);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        using var issued = request.Create(ca, notBefore, notAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        // Through PKCS#12 so the key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
    }
}
