"""The package under test is the installed wheel, with its binary."""

import os
import subprocess
import sys
import sysconfig

import qualys_mock


def test_the_package_is_the_installed_one_not_the_source_tree():
    installed = os.path.realpath(sysconfig.get_paths()["purelib"])
    assert os.path.realpath(qualys_mock.__file__).startswith(installed), qualys_mock.__file__


def test_the_wheel_put_the_binary_in_the_scripts_folder():
    binary = qualys_mock.find_binary()
    assert os.path.dirname(binary) == sysconfig.get_path("scripts")
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("qualys-mock ")


def test_the_pytest_plugin_is_registered_by_entry_point(pytestconfig):
    plugin = pytestconfig.pluginmanager.get_plugin("qualys_mock")
    assert plugin is not None
    assert plugin.__name__ == "qualys_mock.pytest_plugin"
    assert sys.modules["qualys_mock.pytest_plugin"] is plugin
