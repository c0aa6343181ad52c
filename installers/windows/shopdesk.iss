; Inno Setup 6 script for shopdesk on Windows (x64): program files, Start-menu and optional desktop
; shortcuts, an optional "start when I log in", and an uninstaller (Apps & features / Start menu).
;
; Build on Windows (PyInstaller does not cross-compile) — installers\windows\build.ps1 does all of it:
;   1. .venv\Scripts\pyinstaller --noconfirm --clean installers\shopdesk.spec   → dist\shopdesk\shopdesk.exe
;   2. dist\shopdesk\shopdesk-console.exe --self-test                           → must end "self-test passed"
;   3. "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 installers\windows\shopdesk.iss
;      → dist\shopdesk-0.1.0-windows-x64-setup.exe
; Silent install for many machines: shopdesk-…-setup.exe /VERYSILENT /TASKS="autostart"

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define Root "..\.."

[Setup]
; AppId identifies the app for upgrades and the uninstaller: never change it
AppId={{6F1C2B4E-8D3A-4F57-9E2B-5A7C1D0E3B91}
AppName=shopdesk
AppVersion={#AppVersion}
AppVerName=shopdesk {#AppVersion}
AppPublisher=shopdesk
AppComments=Print shop counter: the job queue, printing and QR scanning
DefaultDirName={autopf}\shopdesk
DefaultGroupName=shopdesk
DisableProgramGroupPage=yes
; per-machine by default (needs admin); the user may choose "only for me" (no admin) in the first dialog
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#Root}\dist
OutputBaseFilename=shopdesk-{#AppVersion}-windows-x64-setup
SetupIconFile={#Root}\resources\shopdesk.ico
UninstallDisplayIcon={app}\shopdesk.exe
UninstallDisplayName=shopdesk {#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; a running shopdesk is asked to close before files are replaced (upgrade) or removed (uninstall)
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"
Name: "autostart"; Description: "Start shopdesk when I log in (recommended for the counter PC)"; GroupDescription: "Startup:"; Flags: unchecked

[Files]
; the whole one-folder bundle; files of an older version are removed first (see [InstallDelete])
Source: "{#Root}\dist\shopdesk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\shopdesk"; Filename: "{app}\shopdesk.exe"; WorkingDir: "{app}"; Comment: "Print shop counter"
Name: "{group}\shopdesk self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\shopdesk-console.exe"" --self-test"; WorkingDir: "{app}"
Name: "{group}\Uninstall shopdesk"; Filename: "{uninstallexe}"
Name: "{autodesktop}\shopdesk"; Filename: "{app}\shopdesk.exe"; WorkingDir: "{app}"; Tasks: desktopicon
; {autostartup}: the Startup folder of all users (admin install) or of this user (per-user install)
Name: "{autostartup}\shopdesk"; Filename: "{app}\shopdesk.exe"; WorkingDir: "{app}"; Tasks: autostart

[Run]
Filename: "{app}\shopdesk.exe"; Description: "{cm:LaunchProgram,shopdesk}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; only the program folder: settings, logs and the built-in server's data in %LOCALAPPDATA%\shopdesk stay
Type: filesandordirs; Name: "{app}"
