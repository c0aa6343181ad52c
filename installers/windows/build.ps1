# Builds the Windows installer on a Windows 10/11 x64 machine (PyInstaller does not cross-compile):
#   powershell -ExecutionPolicy Bypass -File installers\windows\build.ps1
# Needs: Python 3.11+ x64 on PATH (python.org installer), Inno Setup 6 (https://jrsoftware.org/isdl.php),
# and the Visual C++ 2013 x64 runtime (pyzbar's bundled libzbar-64.dll needs msvcr120.dll).
# Writes dist\shopdesk\ (the bundle) and dist\shopdesk-VERSION-windows-x64-setup.exe.
$ErrorActionPreference = "Stop"
$Root = Resolve-Path "$PSScriptRoot\..\.."
Set-Location $Root
if (-not (Test-Path .venv)) { python -m venv .venv }
.\.venv\Scripts\python -m pip install --upgrade pip
# pycups has no Windows build (CUPS is not on Windows): install every other dependency from pyproject.toml
$Deps = .\.venv\Scripts\python -c "import tomllib; print('\n'.join(d for d in tomllib.load(open('pyproject.toml','rb'))['project']['dependencies'] if not d.startswith('pycups')))"
.\.venv\Scripts\python -m pip install $($Deps -split "`n") pyinstaller
.\.venv\Scripts\python -m pip install --no-deps -e .
.\.venv\Scripts\pyinstaller --noconfirm --clean installers\shopdesk.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
.\dist\shopdesk\shopdesk-console.exe --self-test
if ($LASTEXITCODE -ne 0) { throw "the bundle's self-test failed" }
$Version = .\.venv\Scripts\python -c "import shopdesk; print(shopdesk.__version__)"
$Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe"
& $Iscc "/DAppVersion=$Version" installers\windows\shopdesk.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
Write-Host "wrote dist\shopdesk-$Version-windows-x64-setup.exe"
