# Installs the Outbox worker as a Windows service. Run in an elevated PowerShell:
#   Unzip outbox-VERSION-win-x64.zip to "C:\Program Files\Outbox"
#   (from a clone: dotnet publish src\Outbox -p:PublishProfile=release -r win-x64 -o "C:\Program Files\Outbox")
#   .\config\install-windows-service.ps1 -InstallDir "C:\Program Files\Outbox" -Config "C:\ProgramData\Outbox\outbox.json"
# The service runs `outbox run`; the host reports start and stop to the service manager.
# Put the SMTP password in the machine environment (Outbox__Smtp__Password) or a file that only
# the service account can read (Outbox:Smtp:PasswordFile), not in the configuration file.
param(
    [Parameter(Mandatory = $true)] [string] $InstallDir,
    [Parameter(Mandatory = $true)] [string] $Config,
    [string] $ServiceName = "outbox"
)
$ErrorActionPreference = "Stop"
$exe = Join-Path $InstallDir "outbox.exe"
if (-not (Test-Path $exe)) { throw "$exe not found: publish the worker into -InstallDir first" }
if (-not (Test-Path $Config)) { throw "$Config not found: write the configuration first" }
if (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) {
    Stop-Service -Name $ServiceName
    sc.exe delete $ServiceName | Out-Null
}
New-Service -Name $ServiceName -DisplayName "Outbox mail worker" -StartupType Automatic `
    -BinaryPathName "`"$exe`" run --config `"$Config`"" `
    -Description "Sends mail queued in the database outbox over SMTP"
# A small first-generation GC budget keeps memory flat however large an attachment; .NET reads
# this knob only from the environment, so it is set on the service (see config/outbox.service).
Set-ItemProperty -Path "HKLM:\SYSTEM\CurrentControlSet\Services\$ServiceName" -Name Environment `
    -Type MultiString -Value @("DOTNET_GCgen0size=0x400000")
sc.exe failure $ServiceName reset= 86400 actions= restart/10000/restart/10000/restart/60000 | Out-Null
Start-Service -Name $ServiceName
Get-Service -Name $ServiceName
